"""ATA IDENTIFY DEVICE and DEVICE CONFIGURATION IDENTIFY data, read into frozen facts.

Both are 256 little-endian 16-bit words (T13 ACS-3, 7.12.7 and ACS-2 7.9); strings are
stored with the two bytes of each word swapped. Word 255 holds an integrity word: signature
``A5h`` in its low byte and a checksum that makes all 512 bytes sum to zero (mod 256);
data that carries the signature but fails the sum is refused rather than believed.
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass
from typing import Any

from expunge.core.errors import TargetError

IDENTIFY_BYTES = 512
_WORDS = struct.Struct("<256H")
_SIGNATURE = 0xA5


def _words(data: bytes, what: str) -> tuple[int, ...]:
    if len(data) != IDENTIFY_BYTES:
        raise TargetError(f"{what} is {len(data)} bytes, not {IDENTIFY_BYTES}")
    if data[510] == _SIGNATURE and sum(data) % 256:
        raise TargetError(
            f"{what} fails its checksum (word 255)",
            remedy="the drive or its bridge corrupted the answer; try another port or cable",
        )
    return _WORDS.unpack(data)


def ata_string(words: tuple[int, ...], first: int, count: int) -> str:
    """The ASCII string in ``count`` words from ``first``: bytes swapped within each word."""
    raw = b"".join(struct.pack(">H", w) for w in words[first : first + count])
    return raw.decode("ascii", "replace").strip(" \x00")


def _bit(word: int, bit: int) -> bool:
    return bool(word >> bit & 1)


def _erase_minutes(word: int) -> int | None:
    """Words 89/90: time in units of 2 minutes; bit 15 selects the 15-bit extended format."""
    value = word & 0x7FFF if word & 0x8000 else word & 0xFF
    return 2 * value if value else None


@dataclass(frozen=True)
class AtaSecurity:
    """The Security feature set (word 128; erase times in words 89 and 90).

    ``frozen`` drives refuse SECURITY ERASE until a power cycle (the BIOS usually freezes
    them at boot); ``locked`` ones need their password first; ``enabled`` means a user
    password is set.
    """

    supported: bool
    enabled: bool
    locked: bool
    frozen: bool
    count_expired: bool
    enhanced_erase: bool
    erase_minutes: int | None
    enhanced_erase_minutes: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class AtaSanitize:
    """The Sanitize Device feature set (word 59 bits 12-15, ACS-3)."""

    supported: bool
    crypto_scramble: bool
    overwrite: bool
    block_erase: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class AtaIdentify:
    """What an ATA drive says of itself in IDENTIFY DEVICE.

    ``sectors`` is the user-addressable count (the LBA48 count, words 100-103, when 48-bit
    addressing is supported, else words 60-61): with a host protected area set it is less
    than the native count that READ NATIVE MAX ADDRESS reports. ``rotation_rate`` is 1 for
    a non-rotating (solid-state) device, the RPM otherwise, None when not reported.
    """

    model: str
    serial: str
    firmware: str
    sectors: int
    logical_sector_size: int
    lba48: bool
    rotation_rate: int | None
    security: AtaSecurity
    sanitize: AtaSanitize
    hpa_supported: bool
    hpa_enabled: bool
    dco_supported: bool
    smart_supported: bool
    smart_enabled: bool
    trim: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def parse_identify(data: bytes) -> AtaIdentify:
    """Read a 512-byte IDENTIFY DEVICE answer (ACS-3 Table 45)."""
    w = _words(data, "ATA IDENTIFY DEVICE data")
    lba48 = _bit(w[83], 10) and _bit(w[83], 14) and not _bit(w[83], 15)
    lba28 = w[60] | w[61] << 16
    sectors = (w[100] | w[101] << 16 | w[102] << 32 | w[103] << 48) if lba48 else lba28
    sector_size = 512
    # Word 106: bit 14 set and bit 15 clear when valid; bit 12: logical sector > 256 words.
    if w[106] & 0xC000 == 0x4000 and _bit(w[106], 12):
        sector_size = 2 * (w[117] | w[118] << 16)
    rotation = w[217] if w[217] not in (0, 0xFFFF) else None
    s = w[128]
    return AtaIdentify(
        model=ata_string(w, 27, 20),
        serial=ata_string(w, 10, 10),
        firmware=ata_string(w, 23, 4),
        sectors=sectors,
        logical_sector_size=sector_size,
        lba48=lba48,
        rotation_rate=rotation,
        security=AtaSecurity(
            supported=_bit(s, 0),
            enabled=_bit(s, 1),
            locked=_bit(s, 2),
            frozen=_bit(s, 3),
            count_expired=_bit(s, 4),
            enhanced_erase=_bit(s, 5),
            erase_minutes=_erase_minutes(w[89]),
            enhanced_erase_minutes=_erase_minutes(w[90]),
        ),
        sanitize=AtaSanitize(
            supported=_bit(w[59], 12),
            crypto_scramble=_bit(w[59], 13),
            overwrite=_bit(w[59], 14),
            block_erase=_bit(w[59], 15),
        ),
        hpa_supported=_bit(w[82], 10),
        hpa_enabled=_bit(w[85], 10),
        dco_supported=_bit(w[83], 11),
        smart_supported=_bit(w[82], 0),
        smart_enabled=_bit(w[85], 0),
        trim=_bit(w[169], 0),
    )


@dataclass(frozen=True)
class DcoIdentify:
    """DEVICE CONFIGURATION IDENTIFY (ACS-2 Table 35): the factory maximum behind a DCO.

    ``max_lba`` is the highest LBA the drive can be configured to expose; a DCO that has
    reduced the native maximum hides ``max_lba + 1 - native`` sectors from READ NATIVE
    MAX ADDRESS as well as from the host.
    """

    revision: int
    max_lba: int
    hpa_restricted: bool
    security_restricted: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def parse_dco_identify(data: bytes) -> DcoIdentify:
    """Read a 512-byte DEVICE CONFIGURATION IDENTIFY answer.

    Word 7 lists the feature sets the DCO still allows: a cleared bit 7 (host protected
    area) or 3 (security) means the overlay has disabled them.
    """
    w = _words(data, "ATA DEVICE CONFIGURATION IDENTIFY data")
    return DcoIdentify(
        revision=w[0],
        max_lba=w[3] | w[4] << 16 | w[5] << 32 | w[6] << 48,
        hpa_restricted=not _bit(w[7], 7),
        security_restricted=not _bit(w[7], 3),
    )
