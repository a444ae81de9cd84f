"""Reading LUKS1 and LUKS2 headers from the binary structures (no cryptsetup needed).

LUKS1 is one 592-byte ``phdr`` at offset 0 with eight keyslots (key material offset and
anti-forensic stripes each); LUKS2 is a 4096-byte binary header plus a JSON area at 0 and
a second copy (magic ``SKUL\\xba\\xbe``) at ``hdr_size``, the JSON giving keyslot areas,
segments and the keyslots area size. The copy that passes its checksum with the highest
sequence id is believed, as cryptsetup does; a damaged primary is found through the
secondary at the offsets cryptsetup probes.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from expunge.core.blockdev import pread_full, round_up, target_size
from expunge.core.errors import RefusedError, TargetError
from expunge.shred.luks.layout import (
    ALIGN,
    LUKS2_HEADER_SIZES,
    LUKS2_SECONDARY_MAGIC,
    LUKS_MAGIC,
    MAGIC_OFFSETS,
    KeyslotArea,
    LuksLayout,
)
from expunge.shred.report import ByteRange

SECTOR = 512
"""LUKS counts offsets in 512-byte sectors; an O_DIRECT read ends on a multiple of it."""
_BINARY_HEADER = 4096
_LUKS1 = struct.Struct(">6sH32s32s32sII20s32sI40s")
_LUKS1_SLOT = struct.Struct(">II32sII")
_LUKS1_SLOTS = 8
_LUKS1_SLOT_ACTIVE = 0x00AC71F3
_LUKS1_PHDR = _LUKS1.size + _LUKS1_SLOTS * _LUKS1_SLOT.size
_LUKS2 = struct.Struct(">6sHQQ48s32s64s40s48sQ184s64s")
_LUKS2_CSUM = slice(448, 512)


def read_at(fd: int, offset: int, length: int) -> bytes:
    """``length`` bytes at ``offset`` (fewer at the end of the target).

    Reads whole aligned 4096-byte blocks into page-aligned memory, so the same code serves
    an ``O_DIRECT`` descriptor such as the one ``drives.open_for_wipe`` returns.
    """
    start = offset - offset % ALIGN
    end = round_up(offset + length, ALIGN)
    buffer = mmap.mmap(-1, end - start)
    try:
        with memoryview(buffer) as view:
            got = pread_full(fd, view, start, SECTOR)
        stop = min(offset + length, start + got)
        return bytes(buffer[offset - start : stop - start]) if stop > offset else b""
    finally:
        buffer.close()


class _Unparsable(Exception):
    """A header copy whose fields or JSON do not make sense; another copy may."""


@dataclass(frozen=True)
class _Luks2Copy:
    offset: int
    hdr_size: int
    seqid: int
    uuid: str
    metadata: dict[str, Any] | None
    """The JSON metadata when the copy passed its checksum and parsed, else None."""


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def _u64(value: object, what: str) -> int:
    """LUKS2 JSON writes 64-bit numbers as decimal strings."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise _Unparsable(f"{what} is not a number: {value!r}")


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Unparsable(f"{what} is not an object")
    return value


def _luks2_copy(fd: int, offset: int) -> _Luks2Copy | None:
    """The LUKS2 header copy at ``offset``, or None when there is no LUKS2 magic there."""
    binary = read_at(fd, offset, _BINARY_HEADER)
    if len(binary) < _LUKS2.size:
        return None
    fields = _LUKS2.unpack_from(binary)
    magic, version, hdr_size, seqid = fields[0], fields[1], fields[2], fields[3]
    expected = LUKS_MAGIC if offset == 0 else LUKS2_SECONDARY_MAGIC
    if magic != expected or version != 2:
        return None
    uuid = _cstr(fields[7])
    if hdr_size not in LUKS2_HEADER_SIZES or fields[9] != offset:
        return _Luks2Copy(offset, hdr_size, seqid, uuid, None)
    return _Luks2Copy(offset, hdr_size, seqid, uuid, _luks2_metadata(fd, offset, hdr_size))


def _luks2_metadata(fd: int, offset: int, hdr_size: int) -> dict[str, Any] | None:
    whole = bytearray(read_at(fd, offset, hdr_size))
    if len(whole) < hdr_size:
        return None
    fields = _LUKS2.unpack_from(whole)
    stored = fields[11]
    try:
        digest = hashlib.new(_cstr(fields[5]))
    except ValueError:
        return None
    whole[_LUKS2_CSUM] = bytes(_LUKS2_CSUM.stop - _LUKS2_CSUM.start)
    digest.update(whole)
    value = digest.digest()
    if stored[: len(value)] != value:
        return None
    text = bytes(whole[_BINARY_HEADER:]).split(b"\0", 1)[0]
    try:
        metadata = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return None
    return metadata if isinstance(metadata, dict) else None


def _stale_headers(fd: int, size: int, known: Iterable[int]) -> tuple[ByteRange, ...]:
    """LUKS headers at probe offsets other than the ones the layout already covers."""
    stale = []
    for offset in MAGIC_OFFSETS:
        if offset in known or offset + len(LUKS_MAGIC) > size:
            continue
        magic = read_at(fd, offset, len(LUKS_MAGIC))
        if magic not in (LUKS_MAGIC, LUKS2_SECONDARY_MAGIC):
            continue
        copy = _luks2_copy(fd, offset)
        length = copy.hdr_size if copy and copy.hdr_size in LUKS2_HEADER_SIZES else ALIGN
        stale.append(ByteRange(offset, min(offset + length, size)))
    return tuple(stale)


def _luks1_layout(fd: int, name: str, size: int, phdr: bytes) -> LuksLayout:
    fields = _LUKS1.unpack_from(phdr)
    payload_offset, key_bytes, uuid = fields[5], fields[6], _cstr(fields[10])
    slots = []
    for index in range(_LUKS1_SLOTS):
        active, _iterations, _salt, material, stripes = _LUKS1_SLOT.unpack_from(
            phdr, _LUKS1.size + index * _LUKS1_SLOT.size
        )
        offset = material * SECTOR
        length = round_up(key_bytes * stripes, SECTOR)
        slots.append(KeyslotArea(str(index), offset, length, active == _LUKS1_SLOT_ACTIVE, "luks1"))
    span = ByteRange(min(s.offset for s in slots), max(s.area.end for s in slots))
    header = ByteRange(0, _LUKS1_PHDR)
    return LuksLayout(
        target=name,
        target_size=size,
        version=1,
        uuid=uuid,
        header_areas=(header,),
        json_areas=(),
        keyslots_area=span,
        keyslots=tuple(slots),
        data_offset=payload_offset * SECTOR,
        stale_headers=_stale_headers(fd, size, (0,)),
    )


def _luks2_layout(fd: int, name: str, size: int) -> LuksLayout:
    copies = [c for c in (_luks2_copy(fd, o) for o in MAGIC_OFFSETS if o < size) if c]
    valid = [(c.seqid, c, c.metadata) for c in copies if c.metadata is not None]
    if not valid:
        raise TargetError(
            "LUKS2 header damaged: no copy of it passes its checksum, so its keyslot areas "
            "are unknown",
            target=name,
            remedy="overwrite the whole volume instead (an overwrite method, not luks-erase)",
        )
    _seqid, best, metadata = max(valid, key=lambda v: v[0])
    try:
        keyslots, keyslots_size, data_offset = _luks2_areas(metadata)
    except _Unparsable as exc:
        raise TargetError(
            f"LUKS2 metadata not understood ({exc})",
            target=name,
            remedy="overwrite the whole volume instead (an overwrite method, not luks-erase)",
        ) from exc
    hdr = best.hdr_size
    metadata_end = 2 * hdr
    return LuksLayout(
        target=name,
        target_size=size,
        version=2,
        uuid=best.uuid,
        header_areas=(ByteRange(0, _BINARY_HEADER), ByteRange(hdr, hdr + _BINARY_HEADER)),
        json_areas=(ByteRange(_BINARY_HEADER, hdr), ByteRange(hdr + _BINARY_HEADER, 2 * hdr)),
        keyslots_area=ByteRange(metadata_end, metadata_end + keyslots_size),
        keyslots=keyslots,
        data_offset=data_offset,
        stale_headers=_stale_headers(fd, size, (0, hdr)),
    )


def _luks2_areas(metadata: dict[str, Any]) -> tuple[tuple[KeyslotArea, ...], int, int]:
    """Keyslot areas, keyslots area size and data offset from LUKS2 JSON metadata."""
    slots = []
    listed = _object(metadata.get("keyslots"), "keyslots").items()
    for slot, value in sorted(listed, key=lambda item: (len(item[0]), item[0])):
        keyslot = _object(value, f"keyslot {slot}")
        area = _object(keyslot.get("area"), f"keyslot {slot} area")
        slots.append(
            KeyslotArea(
                slot=str(slot),
                offset=_u64(area.get("offset"), f"keyslot {slot} area offset"),
                size=_u64(area.get("size"), f"keyslot {slot} area size"),
                active=True,
                kind=str(keyslot.get("type", "")),
            )
        )
    config = _object(metadata.get("config"), "config")
    keyslots_size = _u64(config.get("keyslots_size"), "config.keyslots_size")
    segments = _object(metadata.get("segments"), "segments")
    offsets = [
        _u64(_object(seg, f"segment {k}").get("offset"), f"segment {k} offset")
        for k, seg in segments.items()
    ]
    return tuple(slots), keyslots_size, min(offsets, default=0)


def read_layout(fd: int, *, name: str) -> LuksLayout:
    """Parse the LUKS1 or LUKS2 headers of the readable file or block device ``fd``.

    Raises RefusedError when the target is not LUKS (no LUKS header at offset 0 nor a LUKS2
    secondary header at any probe offset), TargetError when it is LUKS but cannot be erased
    by keyslots (unknown version, damaged LUKS2 metadata) or cannot be read. Writes nothing.
    """
    try:
        size = target_size(fd)
        first = read_at(fd, 0, _BINARY_HEADER)
        if first[: len(LUKS_MAGIC)] == LUKS_MAGIC and len(first) >= _LUKS1_PHDR:
            version = struct.unpack_from(">H", first, len(LUKS_MAGIC))[0]
            if version == 1:
                return _luks1_layout(fd, name, size, first)
            if version == 2:
                return _luks2_layout(fd, name, size)
            raise TargetError(
                f"has a LUKS header of unsupported version {version}",
                target=name,
                remedy="overwrite the whole volume instead (an overwrite method)",
            )
        if any(
            read_at(fd, o, len(LUKS_MAGIC)) == LUKS2_SECONDARY_MAGIC
            for o in LUKS2_HEADER_SIZES
            if o < size
        ):
            return _luks2_layout(fd, name, size)
    except OSError as exc:
        raise TargetError(
            f"cannot read the LUKS header: {exc.strerror or exc}",
            target=name,
            remedy="open the target readable (read-write) and check the medium",
        ) from exc
    raise RefusedError(
        "is not a LUKS volume (no LUKS header at offset 0 or at any LUKS2 secondary "
        "header offset); nothing was written",
        target=name,
        remedy="name a LUKS volume or container, or use an overwrite method",
    )
