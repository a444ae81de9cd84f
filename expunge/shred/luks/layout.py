"""Where a LUKS volume keeps its headers and key material, and the range an erase covers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from expunge.core.blockdev import round_up
from expunge.shred.report import ByteRange

LUKS_MAGIC = b"LUKS\xba\xbe"
LUKS2_SECONDARY_MAGIC = b"SKUL\xba\xbe"
LUKS2_HEADER_SIZES = (
    0x4000,
    0x8000,
    0x10000,
    0x20000,
    0x40000,
    0x80000,
    0x100000,
    0x200000,
    0x400000,
)
"""The sizes a LUKS2 header copy (binary header + JSON area) may have; the secondary copy
sits at ``hdr_size``, so these are also the offsets cryptsetup probes for it."""
MAGIC_OFFSETS = (0, *LUKS2_HEADER_SIZES)
"""Where no LUKS magic may remain after an erase."""

ALIGN = 4096
"""The erased range ends on a multiple of this."""


@dataclass(frozen=True)
class KeyslotArea:
    """Where one keyslot keeps its (anti-forensically split, encrypted) key material."""

    slot: str
    offset: int
    size: int
    active: bool
    kind: str
    """``luks1`` for a LUKS1 slot; the LUKS2 keyslot type (``luks2``, ``reencrypt``)."""

    @property
    def area(self) -> ByteRange:
        """The bytes of the keyslot area."""
        return ByteRange(self.offset, self.offset + self.size)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "slot": self.slot,
            "offset": self.offset,
            "size": self.size,
            "active": self.active,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class LuksLayout:
    """Where a LUKS volume keeps its headers and key material, as parsed from the target."""

    target: str
    target_size: int
    version: int
    uuid: str
    header_areas: tuple[ByteRange, ...]
    """Binary headers: the LUKS1 ``phdr``; the two 4096-byte LUKS2 binary headers."""
    json_areas: tuple[ByteRange, ...]
    """The two LUKS2 JSON areas (none for LUKS1)."""
    keyslots_area: ByteRange
    """LUKS2: the keyslots area from ``config.keyslots_size``; LUKS1: the span of the slots."""
    keyslots: tuple[KeyslotArea, ...]
    data_offset: int
    """Start of the first data segment (0 for a detached header)."""
    stale_headers: tuple[ByteRange, ...] = ()
    """Other LUKS headers found at probe offsets (left by an earlier format), erased too."""

    @property
    def erase_range(self) -> ByteRange:
        """``[0, end)``: every header, JSON and keyslot area, up to the data segment."""
        ranges = (
            *self.header_areas,
            *self.json_areas,
            self.keyslots_area,
            *(k.area for k in self.keyslots),
            *self.stale_headers,
        )
        end = max(self.data_offset, *(r.end for r in ranges))
        return ByteRange(0, min(round_up(end, ALIGN), self.target_size))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "target": self.target,
            "target_size": self.target_size,
            "version": self.version,
            "uuid": self.uuid,
            "header_areas": [r.to_dict() for r in self.header_areas],
            "json_areas": [r.to_dict() for r in self.json_areas],
            "keyslots_area": self.keyslots_area.to_dict(),
            "keyslots": [k.to_dict() for k in self.keyslots],
            "data_offset": self.data_offset,
            "stale_headers": [r.to_dict() for r in self.stale_headers],
            "erase_range": self.erase_range.to_dict(),
        }
