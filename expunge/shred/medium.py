"""What a failing medium answers: bad sectors isolated to the smallest blocks, and a medium
that has gone (a pulled drive) told from them.

Used by the overwrite engine on every write it makes; nothing here decides what a pass
does about an error (``--on-error``), only what stayed unwritten and whether to go on.
"""

from __future__ import annotations

import errno
import mmap
import os
from dataclasses import dataclass

from expunge.shred.report import ByteRange

# A medium that has vanished answers every write this way; retrying block by block is
# pointless and would take hours on a large drive.
GONE_ERRNOS = frozenset({errno.ENODEV, errno.ENXIO, errno.ESHUTDOWN})
# Behind the block layer a vanished drive often answers plain EIO, like a bad sector. A
# chunk in which no block takes a write is checked: if a block written earlier no longer
# reads back, the medium is gone. Where no read can tell (a write-only descriptor, the
# page cache), this many bytes refused in a row are taken as a gone medium: bad sectors
# come in small clusters, and isolating a vanished drive block by block would take hours.
DEAD_BYTES_GONE = 16 << 20


class MediaGone(Exception):
    """The medium stopped answering (pulled drive); raised inside the engine only."""


def pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset``, looping over short writes and EINTR."""
    done = 0
    while done < len(data):
        try:
            written = os.pwrite(fd, data[done:], offset + done)
        except InterruptedError:
            continue
        if written == 0:
            raise OSError(errno.EIO, "write returned 0 bytes")
        done += written


def isolate_bad_ranges(fd: int, data: memoryview, offset: int, block: int) -> list[ByteRange]:
    """Retry a failed write in halves down to ``block`` bytes; return what stayed unwritten.

    Through an ``O_DIRECT`` descriptor a piece smaller than the filesystem's alignment is
    refused (``EINVAL``) and counted unwritten with the bad block: the report may then
    name a few more bytes than the medium refused, never fewer.
    """
    try:
        pwrite_all(fd, data, offset)
        return []
    except OSError as exc:
        if exc.errno in GONE_ERRNOS:
            raise MediaGone(os.strerror(exc.errno or errno.EIO)) from exc
        if len(data) <= block:
            return [ByteRange(offset, offset + len(data))]
    half = max(block, (len(data) // 2) // block * block)
    return isolate_bad_ranges(fd, data[:half], offset, block) + isolate_bad_ranges(
        fd, data[half:], offset + half, block
    )


def first_good(offset: int, length: int, bad: list[ByteRange]) -> int | None:
    """The first offset of ``[offset, offset + length)`` outside ``bad`` (sorted), if any."""
    position = offset
    for r in bad:
        if r.start > position:
            return position
        position = max(position, r.end)
    return position if position < offset + length else None


def reads_back(fd: int, offset: int, block: int) -> bool:
    """Whether the block at ``offset``, written earlier in the pass, still reads.

    A descriptor that cannot read (write-only, a length ``O_DIRECT`` refuses) cannot tell,
    and counts as readable.
    """
    buf = mmap.mmap(-1, max(block, mmap.PAGESIZE))
    try:
        os.preadv(fd, [buf], offset)
    except OSError as exc:
        return exc.errno in (errno.EBADF, errno.EINVAL)
    finally:
        buf.close()
    return True


@dataclass(eq=False)  # state of one pass: compared by identity
class MediumWatch:
    """Tells bad sectors, which a pass writes around, from a medium that has gone.

    ``fd`` is the caller's descriptor of the target: blocks written earlier are read back
    through it (after an ``O_DIRECT`` write the kernel has dropped those pages from the
    cache, so the read reaches the medium).
    """

    fd: int
    block: int
    good_block: int | None = None
    """The last block that took a write: if it no longer reads, the medium is gone."""
    dead_bytes: int = 0
    """Bytes refused in a row since then."""

    def wrote(self, offset: int) -> None:
        """The block at ``offset`` took its write."""
        self.good_block, self.dead_bytes = offset, 0

    def refused(
        self, write_fd: int, view: memoryview, offset: int, exc: OSError
    ) -> list[ByteRange]:
        """After ``exc`` failed the write of ``view`` at ``offset`` through ``write_fd``:
        the ranges that stay unwritten; ``MediaGone`` when the medium, not a few sectors,
        refuses."""
        if exc.errno in GONE_ERRNOS:
            raise MediaGone(os.strerror(exc.errno or errno.EIO)) from exc
        bad = isolate_bad_ranges(write_fd, view, offset, self.block)
        good = first_good(offset, len(view), bad)
        if good is not None:
            self.wrote(good)
            return bad
        self.dead_bytes += len(view)
        reason = self._gone_reason()
        if reason is not None:
            raise MediaGone(reason) from exc
        return bad

    def _gone_reason(self) -> str | None:
        """After a chunk where no block took a write: why the medium is gone, or ``None``
        if these may be bad sectors."""
        if self.good_block is not None and not reads_back(self.fd, self.good_block, self.block):
            return "no block takes a write, and blocks written before no longer read"
        if self.dead_bytes >= DEAD_BYTES_GONE:
            return f"no block of the last {self.dead_bytes} bytes takes a write"
        return None
