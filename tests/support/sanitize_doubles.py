"""Test doubles for drives that cannot exist here: NVMe, ATA and SCSI drives.

No NVMe, ATA or SCSI drive is attached to this machine, so the commands expunge sends
them are answered by these stand-ins, which say so in their names. Each one decodes the
command bytes it is sent as the specification lays them out (a wrong opcode, field or
signature is rejected, as a drive would), answers identify queries with data captured from
real drives (tests/data), and carries out the erase on the medium under test: a real loop
device, opened by expunge, written through its descriptor. So what the flow reads back
afterwards is what the "drive" really did to real bytes.

``lies=True`` makes a drive report success without erasing anything; ``fails=True``
makes it report a failed sanitize.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from expunge.drives.sanitize.commands import (
    BlockCommand,
    Completion,
    DriveCommand,
    NvmeAdminCommand,
    RescanCommand,
    ScsiCommand,
)
from expunge.drives.sanitize.executor import IoctlExecutor
from tests.support.drive_samples import nvme as nvme_sample
from tests.support.drive_samples import skdump

CHUNK = 1 << 20


def fill_device(fd: int, size: int, make: Callable[[int, int], bytes]) -> None:
    """Write ``make(offset, length)`` over the whole device, then sync; through a
    page-aligned buffer, since expunge opened the device with O_DIRECT."""
    buffer = mmap.mmap(-1, CHUNK)
    try:
        offset = 0
        while offset < size:
            length = min(CHUNK, size - offset)
            buffer[:length] = make(offset, length)
            os.pwrite(fd, memoryview(buffer)[:length], offset)
            offset += length
    finally:
        buffer.close()
    os.fsync(fd)


LOOP_SET_STATUS64 = 0x4C04
LOOP_GET_STATUS64 = 0x4C05
_LOOP_SIZELIMIT = slice(32, 40)
"""``lo_sizelimit`` in ``struct loop_info64`` (232 bytes)."""


def set_loop_size_limit(fd: int, limit: int) -> None:
    """Change a loop device's size limit: how an HPA being opened or closed looks from the
    block layer (the capacity the kernel re-reads after SET MAX ADDRESS)."""
    info = bytearray(fcntl.ioctl(fd, LOOP_GET_STATUS64, bytes(232)))
    info[_LOOP_SIZELIMIT] = limit.to_bytes(8, "little")
    fcntl.ioctl(fd, LOOP_SET_STATUS64, bytes(info))


def random_bytes(offset: int, length: int) -> bytes:
    """What a crypto erase leaves: the old ciphertext read under a new key."""
    return os.urandom(length)


def zeros(offset: int, length: int) -> bytes:
    """What a block erase or a zero overwrite leaves."""
    return bytes(length)


@dataclass
class _Sanitize:
    """A sanitize operation the double is carrying out."""

    effect: Callable[[int, int], bytes]
    polls_left: int


@dataclass
class NvmeDriveTestDouble:
    """An NVMe controller (the real Samsung PM1733 identify data) over a loop device."""

    fd: int
    size: int
    sanicap: int | None = None
    namespaces: tuple[int, ...] = (1,)
    polls: int = 3
    lies: bool = False
    fails: bool = False
    sent: list[DriveCommand] = field(default_factory=list)
    _running: _Sanitize | None = None
    _state: int = 0
    _progress: int = 0

    def execute(self, command: DriveCommand) -> Completion:
        self.sent.append(command)
        if isinstance(command, BlockCommand):
            return IoctlExecutor(self.fd, "double").execute(command)
        if not isinstance(command, NvmeAdminCommand):
            raise OSError(errno.EINVAL, "not an NVMe admin command")
        handler = getattr(self, _NVME.get(command.opcode, "_invalid_opcode"))
        return handler(command)  # type: ignore[no-any-return]

    def _invalid_opcode(self, command: NvmeAdminCommand) -> Completion:
        return Completion(status=0x0001)

    def _identify(self, command: NvmeAdminCommand) -> Completion:
        cns = command.cdw10 & 0xFF
        if cns == 1:
            data = bytearray(nvme_sample("pm1733-id-ctrl"))
            if self.sanicap is not None:
                data[328:332] = self.sanicap.to_bytes(4, "little")
            return Completion(data=bytes(data))
        if cns == 0:
            return Completion(data=nvme_sample("id-ns"))
        if cns == 2:
            listed = struct.pack(f"<{len(self.namespaces)}I", *self.namespaces)
            return Completion(data=listed.ljust(4096, b"\0"))
        return Completion(status=0x0002)

    def _get_log(self, command: NvmeAdminCommand) -> Completion:
        lid = command.cdw10 & 0xFF
        length = ((command.cdw10 >> 16 | command.cdw11 << 16) + 1) * 4
        if lid == 0x02:
            return Completion(data=nvme_sample("smart-log")[:length])
        if lid != 0x81:
            return Completion(status=0x0002)
        running = self._running
        if running is not None:
            running.polls_left -= 1
            self._progress = min(self._progress + 0x10000 // (self.polls + 1), 0xFFFF)
            if running.polls_left <= 0:
                if not (self.lies or self.fails):
                    fill_device(self.fd, self.size, running.effect)
                self._state, self._running = (0x3 if self.fails else 0x101), None
        log = bytearray(512)
        log[0:2] = (self._progress if self._running else 0xFFFF).to_bytes(2, "little")
        log[2:4] = self._state.to_bytes(2, "little")
        log[8:20] = b"\xff" * 12
        return Completion(data=bytes(log[:length]))

    def _sanitize(self, command: NvmeAdminCommand) -> Completion:
        action = command.cdw10 & 0x7
        cap = self.sanicap if self.sanicap is not None else 0x3
        supported = {4: cap & 1, 2: cap & 2, 3: cap & 4}
        if not supported.get(action):
            return Completion(status=0x0002)
        pattern = command.cdw11.to_bytes(4, "little")
        effect = {
            4: random_bytes,
            2: zeros,
            3: lambda offset, length: (pattern * (length // 4 + 1))[:length],
        }[action]
        self._running, self._state, self._progress = _Sanitize(effect, self.polls), 0x2, 0
        return Completion()

    def _format(self, command: NvmeAdminCommand) -> Completion:
        ses = command.cdw10 >> 9 & 0x7
        if command.nsid not in self.namespaces or ses not in (1, 2):
            return Completion(status=0x0002)
        if not self.lies:
            fill_device(self.fd, self.size, random_bytes if ses == 2 else zeros)
        return Completion()


_NVME = {0x06: "_identify", 0x02: "_get_log", 0x84: "_sanitize", 0x80: "_format"}


def ata_sense(
    *, status: int = 0x50, error: int = 0, count: int = 0, lba: int = 0, extend: bool = True
) -> bytes:
    """Descriptor sense data with an ATA Status Return descriptor, as SAT returns it."""
    d = bytes(
        [
            0x09, 0x0C, int(extend), error, count >> 8 & 0xFF, count & 0xFF,
            lba >> 24 & 0xFF, lba & 0xFF, lba >> 32 & 0xFF, lba >> 8 & 0xFF,
            lba >> 40 & 0xFF, lba >> 16 & 0xFF, 0x40, status,
        ]
    )  # fmt: skip
    return bytes([0x72, 0x01, 0x00, 0x1D, 0, 0, 0, len(d)]) + d


def illegal_request(asc: int = 0x20) -> Completion:
    """CHECK CONDITION, ILLEGAL REQUEST: what a bridge answers to a command it lacks."""
    return Completion(status=2, sense=bytes([0x72, 0x05, asc, 0x00, 0, 0, 0, 0]))


@dataclass
class AtaDriveTestDouble:
    """An ATA drive behind a SAT layer, answering with a real drive's IDENTIFY and SMART
    data (libatasmart samples), optionally with words changed, over a loop device.

    ``native`` is what READ NATIVE MAX ADDRESS reports (an HPA when above the IDENTIFY
    count); SET MAX ADDRESS and the capacity rescan after it change the loop device's
    size limit accordingly. ``sanitize_frozen`` makes SANITIZE STATUS report the Sanitize
    Frozen state.
    """

    fd: int
    size: int
    identify: bytes
    smart: bytes = field(default_factory=lambda: skdump("WDC_WD5000AAKS--00TMA0-12.01C01")["SMDT"])
    native: int | None = None
    sanitize_frozen: bool = False
    polls: int = 2
    lies: bool = False
    passes_through: bool = True
    bridge: str | None = "linux libata"
    """The SAT layer's VPD page 89h vendor and product; None: no such page (IDENTIFY is
    then asked through ATA PASS-THROUGH)."""
    sent: list[DriveCommand] = field(default_factory=list)
    password: bytes | None = None
    prepared: bool = False
    max_set: int | None = None
    _sanitizing: _Sanitize | None = None

    def execute(self, command: DriveCommand) -> Completion:
        self.sent.append(command)
        if isinstance(command, BlockCommand):
            return IoctlExecutor(self.fd, "double").execute(command)
        if isinstance(command, RescanCommand):
            if self.max_set is not None:
                set_loop_size_limit(self.fd, (self.max_set + 1) * 512)
            return Completion()
        if not isinstance(command, ScsiCommand):
            raise OSError(errno.ENOTTY, "not a SCSI device")
        if not self.passes_through:
            return illegal_request(0x24 if command.cdb[0] == 0x12 else 0x20)
        if command.cdb[0] == 0x12 and command.cdb[2] == 0x89 and self.bridge:
            return Completion(data=self._ata_information_page())
        if command.cdb[0] == 0x12:
            return illegal_request(0x24)
        if command.cdb[0] != 0x85:
            return illegal_request()
        return self._ata(command)

    def _ata_information_page(self) -> bytes:
        """VPD page 89h (SAT-4 Table 175) around the drive's IDENTIFY data."""
        vendor, _, product = (self.bridge or "").partition(" ")
        page = bytearray(572)
        page[1], page[2:4] = 0x89, (572 - 4).to_bytes(2, "big")
        page[8:16], page[16:32] = vendor.encode().ljust(8), product.encode().ljust(16)
        page[56], page[60:572] = 0xEC, self.identify
        return bytes(page)

    def _done(self, **registers: int) -> Completion:
        return Completion(status=2, sense=ata_sense(**registers))

    def _abort(self) -> Completion:
        return Completion(status=2, sense=ata_sense(status=0x51, error=0x04))

    def _ata(self, command: ScsiCommand) -> Completion:
        cdb = command.cdb
        features = cdb[3] << 8 | cdb[4]
        lba = cdb[7] << 24 | cdb[8] | cdb[9] << 32 | cdb[10] << 8 | cdb[11] << 40 | cdb[12] << 16
        op = cdb[14]
        words = struct.unpack("<256H", self.identify)
        security = words[128]
        if op == 0xEC:
            return Completion(data=self.identify)
        if op == 0xB0 and (lba >> 8) == 0xC24F:
            if features == 0xD0:
                return Completion(data=self.smart)
            return self._done(lba=0xC24F00, extend=False)
        if op == 0x27:
            return self._done(lba=(self.native or self.size // 512) - 1)
        if op == 0x37:
            self.max_set = lba
            return self._done(lba=lba)
        if op == 0xB4:
            return self._sanitize(features, lba, cdb[5] << 8 | cdb[6], words[59])
        if op in (0xF1, 0xF3, 0xF4, 0xF6):
            if not security & 0x1 or security & 0x8:  # unsupported, or frozen
                return self._abort()
            return self._security(op, command.data_out)
        return self._abort()

    def _sanitize(self, features: int, lba: int, count: int, w59: int) -> Completion:
        if features == 0x0000:
            state = 0x2000 if self.sanitize_frozen else 0
            running = self._sanitizing
            if running is not None:
                running.polls_left -= 1
                if running.polls_left <= 0:
                    if not self.lies:
                        fill_device(self.fd, self.size, running.effect)
                    self._sanitizing = None
            if self._sanitizing is not None:
                return self._done(count=state | 0x4000, lba=0x8000)
            return self._done(count=state | 0x8000, lba=0xFFFF)
        wanted = {0x0011: (1 << 13, 0x43727970), 0x0012: (1 << 15, 0x426B4572)}
        if features == 0x0014:
            wanted[0x0014] = (1 << 14, 0x4F57 << 32 | lba & 0xFFFFFFFF)
        bit, signature = wanted.get(features, (0, -1))
        if not (w59 & 1 << 12 and w59 & bit) or lba != signature or self.sanitize_frozen:
            return self._abort()
        pattern = (lba & 0xFFFFFFFF).to_bytes(4, "little")
        effect = {
            0x0011: random_bytes,
            0x0012: zeros,
            0x0014: lambda offset, length: (pattern * (length // 4 + 1))[:length],
        }[features]
        self._sanitizing = _Sanitize(effect, self.polls)
        return self._done()

    def _security(self, op: int, data: bytes) -> Completion:
        control = int.from_bytes(data[:2], "little") if data else 0
        given = data[2:34].rstrip(b"\0") if data else b""
        if op == 0xF1:
            self.password = given
            return self._done(extend=False)
        if op == 0xF3:
            self.prepared = True
            return self._done(extend=False)
        if op == 0xF6:
            if given != self.password:
                return self._abort()
            self.password = None
            return self._done(extend=False)
        if not self.prepared or given != self.password or self.password is None:
            return self._abort()
        if not self.lies:
            fill_device(self.fd, self.size, random_bytes if control & 0x2 else zeros)
        self.password, self.prepared = None, False
        return self._done(extend=False)


@dataclass
class ScsiDriveTestDouble:
    """A SCSI drive reporting SANITIZE with the given service actions, over a loop device."""

    fd: int
    size: int
    service_actions: tuple[int, ...] = (0x02,)
    polls: int = 2
    sent: list[DriveCommand] = field(default_factory=list)
    _sanitizing: _Sanitize | None = None

    def execute(self, command: DriveCommand) -> Completion:
        self.sent.append(command)
        if not isinstance(command, ScsiCommand):
            raise OSError(errno.ENOTTY, "not an NVMe device")
        cdb = command.cdb
        if cdb[0] in (0x12, 0x85):
            return illegal_request(0x24 if cdb[0] == 0x12 else 0x20)
        if cdb[0] == 0xA3 and cdb[1] == 0x0C:
            entries = [(0x12, 0), (0x28, 0), *((0x48, sa) for sa in self.service_actions)]
            body = b"".join(
                bytes([op, 0, 0, sa, 0, 1 if op == 0x48 else 0, 0, 10]) for op, sa in entries
            )
            return Completion(data=len(body).to_bytes(4, "big") + body)
        if cdb[0] == 0x48:
            action = cdb[1] & 0x1F
            if action not in self.service_actions or not cdb[1] & 0x80:
                return illegal_request(0x24)
            self._sanitizing = _Sanitize({3: random_bytes, 2: zeros, 1: zeros}[action], self.polls)
            return Completion()
        if cdb[0] == 0x03:
            running = self._sanitizing
            if running is not None:
                running.polls_left -= 1
                if running.polls_left > 0:
                    progress = (0x10000 // (self.polls + 1)).to_bytes(2, "big")
                    fixed = bytes([0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04, 0x1B, 0, 0x80])
                    return Completion(data=fixed + progress)
                fill_device(self.fd, self.size, running.effect)
                self._sanitizing = None
            return Completion(data=bytes([0x70, 0, 0, 0, 0, 0, 0, 10]) + bytes(10))
        return illegal_request()
