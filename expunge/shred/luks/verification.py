"""Proof of a LUKS erase: the erased range read back from the media, and no magic left.

Done here rather than with ``expunge.verify`` (which ``shred`` may not import): the erased
range is read back in full, through a fresh ``O_DIRECT`` descriptor on the same object
(or, where the kernel refuses ``O_DIRECT``, after ``fdatasync`` and
``POSIX_FADV_DONTNEED``) and compared with the keystream; and no LUKS magic may remain at
offset 0 or at any LUKS2 secondary header offset.
"""

from __future__ import annotations

import errno
import mmap
import os
from dataclasses import dataclass
from typing import Any, Literal

from expunge.core.blockdev import pread_full, reopen_direct, round_up
from expunge.core.errors import TargetError
from expunge.shred.luks.headers import SECTOR, read_at
from expunge.shred.luks.holders import VolumeKey
from expunge.shred.luks.layout import (
    ALIGN,
    LUKS2_SECONDARY_MAGIC,
    LUKS_MAGIC,
    MAGIC_OFFSETS,
    LuksLayout,
)
from expunge.shred.patterns import PassPattern
from expunge.shred.report import ByteRange, merge_ranges

_VERIFY_CHUNK = 4 << 20

CacheBypass = Literal["O_DIRECT", "fadvise-dontneed"]


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
                magic = read_at(rfd, offset, len(LUKS_MAGIC))
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
        mismatches=mismatches,
        magic_offsets=offsets,
        magic_found=tuple(found),
        cache_bypass=bypass,
        errors=tuple(errors),
    )


def _open_reader(fd: int) -> tuple[int, CacheBypass]:
    """A read-only descriptor on the object ``fd`` is open on, that reads from the media."""
    want = VolumeKey.from_stat(os.fstat(fd))
    rfd, direct = reopen_direct(fd, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if VolumeKey.from_stat(os.fstat(rfd)) != want:
            raise TargetError(
                "the object reopened for verification is not the one erased",
                target=f"/proc/self/fd/{fd}",
                remedy="the target was replaced during the erase; erase it again",
            )
        if not direct:
            _drop_cached(fd, rfd)
    except BaseException:
        os.close(rfd)
        raise
    return rfd, "O_DIRECT" if direct else "fadvise-dontneed"


def _drop_cached(fd: int, rfd: int) -> None:
    """Without O_DIRECT (tmpfs, some FUSE): make the pass durable, then drop it from the
    page cache so the reads come from the medium."""
    try:
        os.fdatasync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EROFS):
            raise
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.posix_fadvise(rfd, 0, 0, os.POSIX_FADV_DONTNEED)


def _compare(
    rfd: int, checked: ByteRange, pattern: PassPattern
) -> tuple[int, tuple[ByteRange, ...], list[str]]:
    """Bytes read back, mismatching 4096-byte blocks (merged), and read errors."""
    stream = pattern.stream()
    chunk = min(_VERIFY_CHUNK, round_up(checked.end, ALIGN))
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
                    got = pread_full(rfd, got_view[: round_up(length, ALIGN)], offset, SECTOR)
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
    return done, merge_ranges(mismatches), errors


def _differing_blocks(got: memoryview, want: memoryview, length: int, base: int) -> list[ByteRange]:
    blocks = []
    for start in range(0, length, ALIGN):
        end = min(start + ALIGN, length)
        if got[start:end] != want[start:end]:
            blocks.append(ByteRange(base + start, base + end))
    return blocks
