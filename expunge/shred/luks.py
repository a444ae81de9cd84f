"""Crypto-erase of LUKS volumes: overwrite every copy of the key material, then prove it.

A LUKS volume's data is encrypted under a master key that exists on the device only inside
keyslots (each one the master key encrypted under a passphrase-derived key). Overwrite both
headers, the JSON areas and every keyslot area, and no passphrase can ever open the volume
again: the ciphertext that remains is noise. This takes well under a second whatever the
size of the volume, because only the metadata area is written.

Layout. The headers are parsed here, from the binary structures (no cryptsetup needed):
LUKS1 is one 592-byte ``phdr`` at offset 0 with eight keyslots (key material offset and
anti-forensic stripes each); LUKS2 is a 4096-byte binary header plus a JSON area at 0 and
a second copy (magic ``SKUL\\xba\\xbe``) at ``hdr_size``, the JSON giving keyslot areas,
segments and the keyslots area size. The copy that passes its checksum with the highest
sequence id is believed, as cryptsetup does; a damaged primary is found through the
secondary at the offsets cryptsetup probes.

What is erased is one range, ``[0, end)``, where ``end`` is the data segment offset or the
end of the last metadata or keyslot area, whichever is further, rounded up to 4096 bytes
(and never past the end of the target). It covers both headers, both JSON areas, every
keyslot area, the padding between them that may hold stale key material, and any other
LUKS header found at a probe offset. It is written as one random pass (an AES-256-CTR
keystream, ``PassPattern.random``) through the overwrite engine and synced.

Verification is done here rather than with ``expunge.verify`` (which ``shred`` may not
import): the erased range is read back in full, through a fresh ``O_DIRECT`` descriptor on
the same object (or, where the kernel refuses ``O_DIRECT``, after ``fdatasync`` and
``POSIX_FADV_DONTNEED``) and compared with the keystream; and no LUKS magic may remain at
offset 0 or at any LUKS2 secondary header offset. The key of the pass is kept in the report
as the verification seed, so ``expunge verify`` can re-check the range later.

A volume that is open (a dm-crypt mapping holds the device, or a loop device over the
container file) is refused before any write: ``open_holders`` decides from facts, and
``read_block_uses`` reads those facts from sysfs.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import mmap
import os
import stat
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from expunge.core.errors import RefusedError, TargetError
from expunge.shred.overwrite import CHUNK_BYTES, PassOptions, WriteBuffer, write_pass
from expunge.shred.patterns import PassPattern
from expunge.shred.report import ByteRange, Limitation, PassResult

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

METHOD = "cryptographic erase (LUKS keyslots)"
NIST_CATEGORY = "Purge"
HEADER_BACKUP_NOTE = Limitation(
    "luks-header-backups",
    "header backups (cryptsetup luksHeaderBackup) and copies of this volume's header kept "
    "outside this device are not controlled: any such copy, with a passphrase, opens the "
    "remaining ciphertext again",
    "destroy every header backup too, or overwrite the whole volume after the erase",
)

_ALIGN = 4096
_SECTOR = 512
_BINARY_HEADER = 4096
_LUKS1 = struct.Struct(">6sH32s32s32sII20s32sI40s")
_LUKS1_SLOT = struct.Struct(">II32sII")
_LUKS1_SLOTS = 8
_LUKS1_SLOT_ACTIVE = 0x00AC71F3
_LUKS1_PHDR = _LUKS1.size + _LUKS1_SLOTS * _LUKS1_SLOT.size
_LUKS2 = struct.Struct(">6sHQQ48s32s64s40s48sQ184s64s")
_LUKS2_CSUM = slice(448, 512)
_BLKGETSIZE64 = 0x80081272
_VERIFY_CHUNK = 4 << 20

CacheBypass = Literal["O_DIRECT", "fadvise-dontneed"]
EraseStatus = Literal["success", "failed", "interrupted"]


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
        return ByteRange(0, min(_round_up(end, _ALIGN), self.target_size))

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


@dataclass(frozen=True)
class LuksVerification:
    """What reading the erased volume back found."""

    checked: ByteRange
    bytes_checked: int
    mismatches: tuple[ByteRange, ...]
    magic_offsets: tuple[int, ...]
    """Offsets checked for a LUKS magic (those inside the target)."""
    magic_found: tuple[int, ...]
    """Offsets that still hold a LUKS magic: any one fails the erase."""
    cache_bypass: CacheBypass
    errors: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """Every erased byte reads back as the keystream and no LUKS magic remains."""
        return (
            self.bytes_checked == self.checked.length
            and not self.mismatches
            and not self.magic_found
            and not self.errors
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "checked": self.checked.to_dict(),
            "bytes_checked": self.bytes_checked,
            "mismatches": [r.to_dict() for r in self.mismatches],
            "magic_offsets": list(self.magic_offsets),
            "magic_found": list(self.magic_found),
            "cache_bypass": self.cache_bypass,
            "errors": list(self.errors),
            "passed": self.passed,
        }


@dataclass(frozen=True)
class LuksEraseReport:
    """The crypto-erase of one LUKS volume: what was overwritten, and what read back."""

    layout: LuksLayout
    erased: tuple[ByteRange, ...]
    pass_result: PassResult
    verification: LuksVerification
    limitations: tuple[Limitation, ...] = (HEADER_BACKUP_NOTE,)
    method: str = METHOD
    nist_category: str = NIST_CATEGORY

    @property
    def verification_seed(self) -> bytes | None:
        """The key of the random pass: recomputes what the erased range must hold."""
        return self.pass_result.pattern.key

    @property
    def status(self) -> EraseStatus:
        """``success`` only when the pass completed and the read-back passed."""
        if self.pass_result.interrupted:
            return "interrupted"
        if self.pass_result.complete and self.verification.passed:
            return "success"
        return "failed"

    def to_dict(self) -> dict[str, Any]:
        """JSON form; the pass key is the verification seed (it protects nothing)."""
        seed = self.verification_seed
        return {
            "method": self.method,
            "nist_category": self.nist_category,
            "layout": self.layout.to_dict(),
            "erased": [r.to_dict() for r in self.erased],
            "pass": self.pass_result.to_dict(),
            "final_pass": {
                "pattern": self.pass_result.pattern.label,
                "kind": self.pass_result.pattern.kind,
                "key": seed.hex() if seed else None,
            },
            "verification": self.verification.to_dict(),
            "limitations": [lim.to_dict() for lim in self.limitations],
            "status": self.status,
        }


def _round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def target_size(fd: int) -> int:
    """Size of the open file or block device (``BLKGETSIZE64`` for a device)."""
    st = os.fstat(fd)
    if stat.S_ISBLK(st.st_mode):
        raw = fcntl.ioctl(fd, _BLKGETSIZE64, bytes(8))
        return int(struct.unpack("=Q", raw)[0])
    return st.st_size


def _pread_full(fd: int, view: memoryview, offset: int) -> int:
    """Read into ``view`` at ``offset`` until it is full or the target ends; bytes read."""
    got = 0
    while got < len(view):
        try:
            count = os.preadv(fd, [view[got:]], offset + got)
        except InterruptedError:
            continue
        if count == 0:
            break
        got += count
        if got % _SECTOR:  # an unaligned short read (O_DIRECT) is the end of the target
            break
    return got


def _read_at(fd: int, offset: int, length: int) -> bytes:
    """``length`` bytes at ``offset`` (fewer at the end of the target).

    Reads whole aligned 4096-byte blocks into page-aligned memory, so the same code serves
    an ``O_DIRECT`` descriptor such as the one ``drives.open_for_wipe`` returns.
    """
    start = offset - offset % _ALIGN
    end = _round_up(offset + length, _ALIGN)
    buffer = mmap.mmap(-1, end - start)
    try:
        with memoryview(buffer) as view:
            got = _pread_full(fd, view, start)
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
    binary = _read_at(fd, offset, _BINARY_HEADER)
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
    whole = bytearray(_read_at(fd, offset, hdr_size))
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
        magic = _read_at(fd, offset, len(LUKS_MAGIC))
        if magic not in (LUKS_MAGIC, LUKS2_SECONDARY_MAGIC):
            continue
        copy = _luks2_copy(fd, offset)
        length = copy.hdr_size if copy and copy.hdr_size in LUKS2_HEADER_SIZES else _ALIGN
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
        offset = material * _SECTOR
        length = _round_up(key_bytes * stripes, _SECTOR)
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
        data_offset=payload_offset * _SECTOR,
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
        first = _read_at(fd, 0, _BINARY_HEADER)
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
            _read_at(fd, o, len(LUKS_MAGIC)) == LUKS2_SECONDARY_MAGIC
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


@dataclass(frozen=True)
class VolumeKey:
    """Which object a target is: a block device by ``st_rdev``, a file by device and inode."""

    kind: Literal["block", "file"]
    dev: int
    ino: int = 0

    @classmethod
    def from_stat(cls, st: os.stat_result) -> VolumeKey:
        """The key of a stat result."""
        if stat.S_ISBLK(st.st_mode):
            return cls("block", st.st_rdev)
        return cls("file", st.st_dev, st.st_ino)


@dataclass(frozen=True)
class BlockUse:
    """One block device as sysfs shows it: who holds it, and what backs a loop device."""

    name: str
    devnum: int
    holders: tuple[str, ...] = ()
    parent: int | None = None
    """For a partition, the ``st_rdev`` of its whole disk."""
    backing: VolumeKey | None = None
    """For a loop device, the file (or block device) behind it."""


def open_holders(target: VolumeKey, uses: Iterable[BlockUse]) -> tuple[str, ...]:
    """Who holds ``target`` open, as ``"dm-0"`` or ``"loop1 -> dm-0"``; empty when free.

    The target is held when it, one of its partitions, a loop device backed by it, or one
    of that loop device's partitions has holders (a dm-crypt mapping, LVM, md).
    """
    listed = tuple(uses)
    own = {target.dev} if target.kind == "block" else set()
    loops = {u.devnum for u in listed if u.backing == target}
    found: list[str] = []
    for use in listed:
        if use.devnum in own or use.parent in own:
            found.extend(use.holders)
        elif use.devnum in loops or use.parent in loops:
            found.extend(f"{use.name} -> {holder}" for holder in use.holders)
    return tuple(found)


def read_block_uses(sys_root: Path = Path("/sys")) -> tuple[BlockUse, ...]:
    """Every block device and partition under ``sys_root/class/block``, with its holders.

    A loop device's backing file is identified by ``stat`` of the path sysfs records
    (``loop/backing_file``); a deleted backing file cannot be the target, so it is skipped.
    """
    uses = []
    base = sys_root / "class" / "block"
    for entry in sorted(base.iterdir()) if base.is_dir() else ():
        devnum = _devnum(entry / "dev")
        if devnum is None:
            continue
        holders_dir = entry / "holders"
        holders = (
            tuple(sorted(p.name for p in holders_dir.iterdir())) if holders_dir.is_dir() else ()
        )
        parent = _devnum(entry.resolve().parent / "dev") if (entry / "partition").exists() else None
        uses.append(BlockUse(entry.name, devnum, holders, parent, _loop_backing(entry)))
    return tuple(uses)


def _devnum(path: Path) -> int | None:
    try:
        major, minor = path.read_text().strip().split(":")
        return os.makedev(int(major), int(minor))
    except (OSError, ValueError):
        return None


def _loop_backing(entry: Path) -> VolumeKey | None:
    try:
        backing = (entry / "loop" / "backing_file").read_text().rstrip("\n")
    except OSError:
        return None
    if backing.endswith(" (deleted)"):
        return None
    try:
        return VolumeKey.from_stat(os.stat(backing))
    except OSError:
        return None


def refuse_if_open(fd: int, *, name: str, sys_root: Path = Path("/sys")) -> None:
    """Raise RefusedError when the volume open as ``fd`` is in use by a holder (dm-crypt)."""
    held = open_holders(VolumeKey.from_stat(os.fstat(fd)), read_block_uses(sys_root))
    if held:
        raise RefusedError(
            f"is an open volume (held by {', '.join(held)}); nothing was written",
            target=name,
            remedy="unmount and close it first (cryptsetup close NAME), then retry",
        )


def luks_erase(
    fd: int,
    layout: LuksLayout,
    *,
    key: bytes | None = None,
    options: PassOptions | None = None,
) -> LuksEraseReport:
    """Overwrite ``layout.erase_range`` of ``fd`` with a random pass, sync, and verify it.

    ``fd`` is the read-write descriptor ``layout`` was read from (``O_DIRECT`` is fine:
    pass ``PassOptions(buffered=False)``). ``key`` fixes the pass's AES-256 key (the
    verification seed); by default a fresh one is drawn. Call ``refuse_if_open`` (and, for
    drives, the drive interlocks) first. A whole-volume overwrite (``--then``) composes:
    ``run_passes(fd, size, passes, options)`` afterwards on the same descriptor.
    """
    size = target_size(fd)
    if size != layout.target_size:
        raise TargetError(
            f"changed size since its header was read ({layout.target_size} -> {size} bytes)",
            target=layout.target,
            remedy="read its layout again; nothing was written",
        )
    erase = layout.erase_range
    pattern = PassPattern.random(key)
    buffer = WriteBuffer(min(CHUNK_BYTES, _round_up(erase.end, _ALIGN)))
    try:
        result = write_pass(
            fd, erase.end, pattern, 1, buffer, options or PassOptions(task="luks-erase")
        )
    finally:
        buffer.close()
    verification = verify_erased(fd, layout, pattern)
    return LuksEraseReport(layout, (erase,), result, verification)


def verify_erased(fd: int, layout: LuksLayout, pattern: PassPattern) -> LuksVerification:
    """Read ``layout.erase_range`` back from the media and look for LUKS magic everywhere.

    Reads through a fresh read-only ``O_DIRECT`` descriptor on the object ``fd`` is open on
    (``/proc/self/fd``), or after ``fdatasync`` + ``POSIX_FADV_DONTNEED`` where the kernel
    refuses ``O_DIRECT``. Read errors are recorded in the result; only a target that cannot
    be reopened at all raises TargetError. ``pattern`` may be rebuilt later from a recorded
    seed (``PassPattern.random(seed)``) to re-verify.
    """
    checked = layout.erase_range
    try:
        rfd, bypass = _open_reader(fd)
    except OSError as exc:
        raise TargetError(
            f"cannot reopen the volume to verify it: {exc.strerror or exc}",
            target=layout.target,
            remedy="check the medium, then verify again with the recorded seed",
        ) from exc
    try:
        bytes_checked, mismatches, errors = _compare(rfd, checked, pattern)
        offsets = tuple(o for o in MAGIC_OFFSETS if o + len(LUKS_MAGIC) <= layout.target_size)
        found: list[int] = []
        for offset in offsets:
            try:
                magic = _read_at(rfd, offset, len(LUKS_MAGIC))
            except OSError as exc:
                errors.append(f"magic at {offset}: {exc.strerror or exc}")
                continue
            if magic in (LUKS_MAGIC, LUKS2_SECONDARY_MAGIC):
                found.append(offset)
    finally:
        os.close(rfd)
    return LuksVerification(
        checked=checked,
        bytes_checked=bytes_checked,
        mismatches=tuple(mismatches),
        magic_offsets=offsets,
        magic_found=tuple(found),
        cache_bypass=bypass,
        errors=tuple(errors),
    )


def _open_reader(fd: int) -> tuple[int, CacheBypass]:
    proc = f"/proc/self/fd/{fd}"
    flags = os.O_RDONLY | os.O_CLOEXEC
    want = VolumeKey.from_stat(os.fstat(fd))
    try:
        rfd = os.open(proc, flags | os.O_DIRECT)
        bypass: CacheBypass = "O_DIRECT"
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        # No O_DIRECT here (tmpfs, some FUSE): make the pass durable, then drop it from the
        # page cache so the reads below come from the medium.
        try:
            os.fdatasync(fd)
        except OSError as sync_exc:
            if sync_exc.errno not in (errno.EINVAL, errno.EROFS):
                raise
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        rfd = os.open(proc, flags)
        os.posix_fadvise(rfd, 0, 0, os.POSIX_FADV_DONTNEED)
        bypass = "fadvise-dontneed"
    if VolumeKey.from_stat(os.fstat(rfd)) != want:
        os.close(rfd)
        raise TargetError(
            "the object reopened for verification is not the one erased",
            target=proc,
            remedy="the target was replaced during the erase; erase it again",
        )
    return rfd, bypass


def _compare(
    rfd: int, checked: ByteRange, pattern: PassPattern
) -> tuple[int, list[ByteRange], list[str]]:
    """Bytes read back, mismatching 4096-byte blocks (merged), and read errors."""
    stream = pattern.stream()
    chunk = min(_VERIFY_CHUNK, _round_up(checked.end, _ALIGN))
    actual = mmap.mmap(-1, chunk)
    expected = bytearray(chunk)
    mismatches: list[ByteRange] = []
    errors: list[str] = []
    done = 0
    try:
        with memoryview(actual) as got_view, memoryview(expected) as want_view:
            offset = checked.start
            while offset < checked.end:
                length = min(chunk, checked.end - offset)
                try:
                    got = _pread_full(rfd, got_view[: _round_up(length, _ALIGN)], offset)
                except OSError as exc:
                    errors.append(f"read at {offset}: {exc.strerror or exc}")
                    mismatches.append(ByteRange(offset, offset + length))
                    offset += length
                    continue
                got = min(got, length)
                stream.fill(want_view[:length], offset)
                if got_view[:got] != want_view[:got]:
                    mismatches.extend(_differing_blocks(got_view, want_view, got, offset))
                if got < length:
                    errors.append(f"short read at {offset + got}: the target ended early")
                    mismatches.append(ByteRange(offset + got, offset + length))
                done += got
                offset += length
    finally:
        actual.close()
    return done, _merged(mismatches), errors


def _differing_blocks(got: memoryview, want: memoryview, length: int, base: int) -> list[ByteRange]:
    blocks = []
    for start in range(0, length, _ALIGN):
        end = min(start + _ALIGN, length)
        if got[start:end] != want[start:end]:
            blocks.append(ByteRange(base + start, base + end))
    return blocks


def _merged(ranges: list[ByteRange]) -> list[ByteRange]:
    merged: list[ByteRange] = []
    for r in sorted(ranges, key=lambda r: r.start):
        if merged and merged[-1].end >= r.start:
            merged[-1] = ByteRange(merged[-1].start, max(merged[-1].end, r.end))
        else:
            merged.append(r)
    return merged
