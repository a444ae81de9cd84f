"""SCSI answers read into frozen facts: VPD pages (SPC-5 7.7, SAT-4 12.4), REPORT
SUPPORTED OPERATION CODES (SPC-5 6.35) and sense data (SPC-5 4.4), including the ATA
Status Return descriptor that carries an ATA command's result back through SAT."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from expunge.core.errors import TargetError

SANITIZE_OPCODE = 0x48
ATA_INFORMATION_PAGE = 0x89
_IDENTIFY_IN_PAGE = slice(60, 572)


def _page(data: bytes, code: int) -> bytes:
    """The body of VPD page ``code`` (after its 4-byte header), checked and trimmed."""
    if len(data) < 4:
        raise TargetError(f"SCSI VPD page {code:#04x} expected, got {len(data)} bytes")
    if data[1] != code:
        raise TargetError(f"SCSI VPD page {code:#04x} expected, got page {data[1]:#04x}")
    length = int.from_bytes(data[2:4], "big")
    if len(data) < 4 + length:
        raise TargetError(f"SCSI VPD page {code:#04x} is cut short")
    return data[4 : 4 + length]


@dataclass(frozen=True)
class Designator:
    """One designation descriptor of the Device Identification page (83h)."""

    code_set: int
    association: int
    kind: int
    value: bytes

    @property
    def text(self) -> str:
        """ASCII/UTF-8 values as text, binary ones as hex."""
        if self.code_set in (2, 3):
            return self.value.decode("utf-8", "replace").strip(" \x00")
        return self.value.hex()


def parse_device_identification(data: bytes) -> tuple[Designator, ...]:
    """The designators of VPD page 83h, in page order."""
    body = _page(data, 0x83)
    found = []
    at = 0
    while at + 4 <= len(body):
        length = body[at + 3]
        value = body[at + 4 : at + 4 + length]
        found.append(
            Designator(body[at] & 0x0F, body[at + 1] >> 4 & 0x3, body[at + 1] & 0x0F, value)
        )
        at += 4 + length
    return tuple(found)


def logical_unit_wwn(designators: tuple[Designator, ...]) -> str | None:
    """The NAA designator of the logical unit itself (association 0), as ``0x...``."""
    for d in designators:
        if d.kind == 3 and d.association == 0:
            return "0x" + d.value.hex()
    return None


def parse_unit_serial(data: bytes) -> str:
    """The product serial number of VPD page 80h."""
    return _page(data, 0x80).decode("ascii", "replace").strip(" \x00")


@dataclass(frozen=True)
class AtaInformation:
    """VPD page 89h: a SCSI/ATA Translation layer (a USB or SAS bridge, or libata) in
    front of an ATA drive, with the drive's own IDENTIFY DEVICE data."""

    sat_vendor: str
    sat_product: str
    sat_revision: str
    identify: bytes


def parse_ata_information(data: bytes) -> AtaInformation:
    """Read VPD page 89h (SAT-4 Table 175)."""
    body = _page(data, ATA_INFORMATION_PAGE)
    if len(body) < _IDENTIFY_IN_PAGE.stop - 4:
        raise TargetError("SCSI VPD page 0x89 has no IDENTIFY data")
    full = data[: 4 + len(body)]
    return AtaInformation(
        sat_vendor=full[8:16].decode("ascii", "replace").strip(),
        sat_product=full[16:32].decode("ascii", "replace").strip(),
        sat_revision=full[32:36].decode("ascii", "replace").strip(),
        identify=bytes(full[_IDENTIFY_IN_PAGE]),
    )


def parse_rotation_rate(data: bytes) -> int | None:
    """Medium rotation rate of VPD page B1h: 1 for solid state, RPM, None if unreported."""
    body = _page(data, 0xB1)
    rate = int.from_bytes(body[0:2], "big") if len(body) >= 2 else 0
    return rate or None


def parse_supported_opcodes(data: bytes) -> frozenset[tuple[int, int]]:
    """``(opcode, service action)`` of every command in an "all commands" REPORT SUPPORTED
    OPERATION CODES answer (service action 0 where the command has none)."""
    if len(data) < 4:
        raise TargetError("REPORT SUPPORTED OPERATION CODES answer is cut short")
    end = min(4 + int.from_bytes(data[0:4], "big"), len(data))
    found = set()
    at = 4
    while at + 8 <= end:
        flags = data[at + 5]
        found.add((data[at], int.from_bytes(data[at + 2 : at + 4], "big") if flags & 1 else 0))
        # CTDP: a 12-byte command timeouts descriptor follows this one.
        at += 20 if flags & 2 else 8
    return frozenset(found)


@dataclass(frozen=True)
class AtaReturn:
    """The ATA registers a SAT layer returned (ATA Status Return descriptor, 09h)."""

    extend: bool
    error: int
    count: int
    lba: int
    device: int
    status: int

    @property
    def failed(self) -> bool:
        """ERR or DRQ set in the status register: the drive rejected the command."""
        return bool(self.status & 0x09)

    @property
    def aborted(self) -> bool:
        """ABRT in the error register: unsupported, not permitted now, or bad parameters."""
        return self.failed and bool(self.error & 0x04)


@dataclass(frozen=True)
class Sense:
    """Sense data, in either format: key, additional sense code and qualifier,
    ``progress`` (0..1) when a sense-key specific field or progress descriptor reports
    it, and the ATA registers when an ATA PASS-THROUGH command asked for them."""

    key: int
    asc: int
    ascq: int
    progress: float | None = None
    ata: AtaReturn | None = None

    @property
    def sanitize_in_progress(self) -> bool:
        """NOT READY, LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS (04h/1Bh)."""
        return self.key == 0x2 and self.asc == 0x04 and self.ascq == 0x1B

    def describe(self) -> str:
        """``sense key 5, ASC/ASCQ 20h/00h`` for error messages."""
        return f"sense key {self.key:#x}, ASC/ASCQ {self.asc:02x}h/{self.ascq:02x}h"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"key": self.key, "asc": self.asc, "ascq": self.ascq, "progress": self.progress}


def _ata_return(d: bytes) -> AtaReturn:
    extend = bool(d[2] & 1)
    lba = d[7] | d[9] << 8 | d[11] << 16
    count = d[5]
    if extend:
        lba |= d[6] << 24 | d[8] << 32 | d[10] << 40
        count |= d[4] << 8
    return AtaReturn(extend, d[3], count, lba, d[12], d[13])


def _sks_progress(field: bytes) -> float | None:
    """A sense-key specific field that is valid (SKSV) as a progress fraction."""
    return int.from_bytes(field[1:3], "big") / 65536 if field[0] & 0x80 else None


def parse_sense(data: bytes) -> Sense | None:
    """Read fixed (70h/71h) or descriptor (72h/73h) sense data; None when there is none."""
    if not data or data[0] & 0x7F not in (0x70, 0x71, 0x72, 0x73):
        return None
    code = data[0] & 0x7F
    if code in (0x70, 0x71):
        padded = data.ljust(18, b"\0")
        key = padded[2] & 0x0F
        fixed_progress = _sks_progress(padded[15:18]) if key in (0x0, 0x2) else None
        return Sense(key, padded[12], padded[13], fixed_progress)
    padded = data.ljust(8, b"\0")
    progress: float | None = None
    ata: AtaReturn | None = None
    at, end = 8, min(8 + padded[7], len(data))
    while at + 2 <= end:
        kind, length = data[at], data[at + 1]
        body = data[at : at + 2 + length]
        if kind == 0x09 and len(body) >= 14:
            ata = _ata_return(body)
        elif kind == 0x02 and len(body) >= 7:
            progress = _sks_progress(body[4:7])
        elif kind == 0x0A and len(body) >= 8:
            progress = int.from_bytes(body[6:8], "big") / 65536
        at += 2 + length
    return Sense(padded[1] & 0x0F, padded[2], padded[3], progress, ata)
