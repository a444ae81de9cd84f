"""The commands a drive is sent, as frozen values, and what came back.

Four kinds, one per kernel interface: an NVMe admin command (``NVME_IOCTL_ADMIN_CMD``),
a SCSI command descriptor block (``SG_IO``; ATA commands travel inside ATA PASS-THROUGH
CDBs), a block-layer range request (``BLKDISCARD``, ``BLKSECDISCARD``, ``BLKZEROOUT``),
and a capacity rescan (after an ATA drive's maximum address changed). The builders in
``nvme``, ``ata``, ``scsi`` and ``blk`` make them; an executor sends them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from expunge.drives.identify.scsi import Sense, parse_sense

DEFAULT_TIMEOUT_MS = 60_000

# struct nvme_passthru_cmd (linux/nvme_ioctl.h): 72 bytes, natural alignment.
NVME_ADMIN_STRUCT = struct.Struct("<BBHIIIQQII6III")
NVME_IOCTL_ADMIN_CMD = 0xC0484E41
"""``_IOWR('N', 0x41, struct nvme_admin_cmd)``."""


@dataclass(frozen=True)
class NvmeAdminCommand:
    """One NVMe admin command: opcode, namespace, command dwords 10-15, data direction.

    ``data_in`` is the length of data the controller returns; ``data_out`` the data it is
    sent (never both).
    """

    name: str
    opcode: int
    nsid: int = 0
    cdw10: int = 0
    cdw11: int = 0
    cdw12: int = 0
    cdw13: int = 0
    cdw14: int = 0
    cdw15: int = 0
    data_in: int = 0
    data_out: bytes = field(default=b"", repr=False)
    timeout_ms: int = DEFAULT_TIMEOUT_MS

    def pack(self, address: int = 0) -> bytes:
        """The ``struct nvme_passthru_cmd`` the ioctl takes, with the data buffer at
        ``address`` (0 for no data)."""
        length = self.data_in or len(self.data_out)
        return NVME_ADMIN_STRUCT.pack(
            self.opcode, 0, 0, self.nsid, 0, 0, 0, address if length else 0, 0, length,
            self.cdw10, self.cdw11, self.cdw12, self.cdw13, self.cdw14, self.cdw15,
            self.timeout_ms, 0,
        )  # fmt: skip


@dataclass(frozen=True)
class ScsiCommand:
    """One SCSI command: its CDB and data (``data_in`` bytes expected, or ``data_out``)."""

    name: str
    cdb: bytes
    data_in: int = 0
    data_out: bytes = field(default=b"", repr=False)
    timeout_ms: int = DEFAULT_TIMEOUT_MS


@dataclass(frozen=True)
class BlockCommand:
    """A block-layer request over ``[start, start + length)`` bytes of the device."""

    name: str
    request: int
    start: int
    length: int

    def pack(self) -> bytes:
        """The ``uint64_t range[2]`` the ioctl takes."""
        return struct.pack("=QQ", self.start, self.length)


@dataclass(frozen=True)
class RescanCommand:
    """Ask the kernel to re-read the device's capacity (``device/rescan`` in sysfs)."""

    name: str = "rescan capacity"


DriveCommand = NvmeAdminCommand | ScsiCommand | BlockCommand | RescanCommand


@dataclass(frozen=True)
class Completion:
    """What a command returned.

    ``status`` is the NVMe status field (0: success) or the SCSI status byte (0 GOOD,
    2 CHECK CONDITION); ``result`` NVMe's completion dword 0; ``data`` what was read;
    ``sense`` the sense bytes; ``host_status``/``driver_status`` SG_IO's transport
    verdicts (non-zero: the command never reached the drive as sent).
    """

    status: int = 0
    result: int = 0
    data: bytes = field(default=b"", repr=False)
    sense: bytes = b""
    host_status: int = 0
    driver_status: int = 0

    @property
    def parsed_sense(self) -> Sense | None:
        """The sense data, read."""
        return parse_sense(self.sense)
