"""Drive health as frozen facts: from ATA SMART data, the NVMe SMART / Health log, or
``smartctl -j``; and what hides beyond the addressable end of an ATA drive (HPA, DCO).

Health goes into ``drive list --json`` and the certificate: a drive wiped with 529
pending sectors was wiped, but an auditor should know those sectors may never have taken
the write.
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass
from typing import Any

from expunge.core.errors import TargetError
from expunge.drives.identify.nvme import NvmeSmartLog

SMART_DATA_BYTES = 512
_ATTRIBUTE = struct.Struct("<BHBB6sB")
_REALLOCATED, _POWER_ON_HOURS, _TEMPERATURE, _PENDING, _UNCORRECTABLE = 5, 9, 194, 197, 198
# SMART RETURN STATUS answers with these LBA Mid/High values (ACS-3 7.45.8).
SMART_GOOD = (0x4F, 0xC2)
SMART_THRESHOLD_EXCEEDED = (0xF4, 0x2C)


@dataclass(frozen=True)
class DriveHealth:
    """What a drive reports of its own wear and defects; None where it does not say.

    ``smart_passed`` is the drive's overall verdict; ``reallocated_sectors`` were remapped
    (their old content stays in the retired sectors, out of an overwrite's reach);
    ``pending_sectors`` failed to read and await remapping; ``media_errors`` is NVMe's
    count of unrecovered data errors; ``percentage_used`` its endurance estimate.
    """

    source: str
    smart_passed: bool | None = None
    power_on_hours: int | None = None
    reallocated_sectors: int | None = None
    pending_sectors: int | None = None
    uncorrectable_sectors: int | None = None
    media_errors: int | None = None
    percentage_used: int | None = None
    temperature_c: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class SmartAttribute:
    """One entry of the ATA SMART attribute table."""

    id: int
    flags: int
    value: int
    worst: int
    raw: int


def parse_smart_attributes(data: bytes) -> dict[int, SmartAttribute]:
    """The attribute table of SMART READ DATA (30 entries of 12 bytes from offset 2)."""
    if len(data) != SMART_DATA_BYTES:
        raise TargetError(f"ATA SMART data is {len(data)} bytes, not {SMART_DATA_BYTES}")
    table = {}
    for index in range(30):
        ident, flags, value, worst, raw, _ = _ATTRIBUTE.unpack_from(data, 2 + 12 * index)
        if ident:
            table[ident] = SmartAttribute(ident, flags, value, worst, int.from_bytes(raw, "little"))
    return table


def ata_health(data: bytes, smart_passed: bool | None) -> DriveHealth:
    """Health from SMART READ DATA and the SMART RETURN STATUS verdict.

    Power-on hours are the low 32 bits of attribute 9's raw value: several vendors keep
    minutes or milliseconds in the upper bytes.
    """
    table = parse_smart_attributes(data)

    def raw(ident: int, mask: int = (1 << 48) - 1) -> int | None:
        attribute = table.get(ident)
        return attribute.raw & mask if attribute is not None else None

    return DriveHealth(
        source="ata-smart",
        smart_passed=smart_passed,
        power_on_hours=raw(_POWER_ON_HOURS, 0xFFFFFFFF),
        reallocated_sectors=raw(_REALLOCATED),
        pending_sectors=raw(_PENDING),
        uncorrectable_sectors=raw(_UNCORRECTABLE),
        temperature_c=raw(_TEMPERATURE, 0xFF),
    )


def smart_verdict(lba_mid: int, lba_high: int) -> bool | None:
    """SMART RETURN STATUS: True (good), False (a threshold exceeded), None (no answer)."""
    if (lba_mid, lba_high) == SMART_GOOD:
        return True
    if (lba_mid, lba_high) == SMART_THRESHOLD_EXCEEDED:
        return False
    return None


def nvme_health(log: NvmeSmartLog) -> DriveHealth:
    """Health from the NVMe SMART / Health log page; any critical warning bit fails it."""
    return DriveHealth(
        source="nvme-health-log",
        smart_passed=log.critical_warning == 0,
        power_on_hours=log.power_on_hours,
        media_errors=log.media_errors,
        percentage_used=log.percentage_used,
        temperature_c=log.temperature_kelvin - 273 if log.temperature_kelvin else None,
    )


@dataclass(frozen=True)
class HiddenAreas:
    """Sectors of an ATA drive beyond what the host addresses.

    ``visible`` is the user-addressable count (IDENTIFY), ``native`` the count READ
    NATIVE MAX ADDRESS reports (more than ``visible``: a host protected area), ``factory``
    the count DEVICE CONFIGURATION IDENTIFY reports (more than ``native``: a device
    configuration overlay); None where the drive could not be asked. ``exposed`` says
    the HPA was opened (volatile SET MAX ADDRESS) for the wipe and the hidden sectors
    overwritten with the rest.
    """

    visible: int
    native: int | None
    factory: int | None
    exposed: bool = False

    @property
    def hpa_sectors(self) -> int | None:
        """Sectors a host protected area hides (0: none), None if unknown."""
        return None if self.native is None else max(self.native - self.visible, 0)

    @property
    def dco_sectors(self) -> int | None:
        """Sectors a device configuration overlay hides (0: none), None if unknown."""
        if self.factory is None:
            return None
        return max(self.factory - (self.native if self.native is not None else self.visible), 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the hidden counts."""
        return {
            **asdict(self),
            "hpa_sectors": self.hpa_sectors,
            "dco_sectors": self.dco_sectors,
        }
