"""Where the bytes of one pass go: ``O_DIRECT`` where the filesystem accepts it, the page
cache for the rest.

A regular file arrives open through the page cache (``shred/files.py`` checked that
descriptor). Written that way, every window of a large pass allocates fresh page-cache
pages that must then be written back and dropped, which on some virtual machines costs
more system time than the disk itself. So the aligned blocks of a pass are written through
a second descriptor of the same open file, reopened through ``/proc/self/fd/N`` with
``O_DIRECT`` (checked to be the same object: device and inode); the unaligned head and tail
(less than 4 KiB each) go through the caller's descriptor. The two never write the same
page in one pass, and an ``O_DIRECT`` write makes the kernel write back and drop cached
pages of its range, so no stale page-cache copy survives for a later read to find.

Where ``O_DIRECT`` is refused (at the open, as ramfs does, or at the first write, as a
filesystem with blocks larger than 4 KiB does), the whole pass goes through the caller's
descriptor, with writeback started as it goes, and the pass records ``buffered``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from dataclasses import dataclass
from typing import Literal

from expunge.core.blockdev import DIRECT_IO_ALIGN, round_up
from expunge.shred.medium import MediumWatch, pwrite_all
from expunge.shred.report import ByteRange, WriteIo

# Start writeback every this many bytes: large enough to keep requests big, small enough
# that dirty pages never pile up into one long stall at the end of the pass.
WRITEBACK_BYTES = 64 << 20
_DIRECT_FLAGS = os.O_WRONLY | os.O_DIRECT | os.O_CLOEXEC

_Part = Literal["direct", "edge", "cached"]
"""A piece of a chunk: an aligned block range written ``O_DIRECT``; the unaligned head or
tail of the pass next to it, through the page cache; or a range written through the page
cache because ``O_DIRECT`` is not in use."""


def open_direct_writer(fd: int) -> int | None:
    """A second descriptor, write-only and ``O_DIRECT``, on the regular file open as ``fd``.

    ``None`` when ``fd`` is not a regular file, already bypasses the page cache, or the
    reopen fails: ``EINVAL`` where the filesystem refuses ``O_DIRECT``; ``EACCES`` (a file
    its owner may no longer open for writing) or no ``/proc``, neither of which stops ``fd``
    itself from writing.
    """
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
        return None
    try:
        direct = os.open(f"/proc/self/fd/{fd}", _DIRECT_FLAGS)
    except OSError:
        return None
    reopened = os.fstat(direct)
    if (reopened.st_dev, reopened.st_ino) != (st.st_dev, st.st_ino):
        os.close(direct)
        return None
    return direct


@dataclass(eq=False)  # state of one pass: compared by identity
class _Writeback:
    """Starts writeback of a buffered pass as it goes, so the page cache never fills up.

    DONTNEED starts writeback of the dirty window just written, and drops the window before
    it, whose pages are clean by now: the pass never holds more than two windows of page
    cache, and never pays for a GiB of fresh pages.
    """

    fd: int
    last: int
    previous: tuple[int, int] | None = None

    def advance(self, offset: int) -> None:
        """The pass has written up to ``offset``."""
        written = offset - self.last
        if written < WRITEBACK_BYTES:
            return
        os.posix_fadvise(self.fd, self.last, written, os.POSIX_FADV_DONTNEED)
        if self.previous is not None:
            os.posix_fadvise(self.fd, *self.previous, os.POSIX_FADV_DONTNEED)
        self.previous = (self.last, written)
        self.last = offset


class PassWriter:
    """Writes the chunks of one pass over ``[start, end)`` of ``fd`` and makes them durable.

    With ``buffered`` (``fd`` writes through the page cache) the aligned blocks of a regular
    file go through an ``O_DIRECT`` descriptor of the writer's own where the filesystem
    accepts one; without it, everything goes through ``fd`` as it is (a drive opened
    ``O_DIRECT``). Chunks are handed over in order, each in a page-aligned buffer whose
    offset matches the file offset modulo the alignment, so every aligned piece of a chunk is
    aligned in memory too. ``close()`` releases the writer's descriptor.
    """

    def __init__(self, fd: int, start: int, end: int, block: int, *, buffered: bool) -> None:
        self.fd = fd
        self.watch = MediumWatch(fd, block)
        lo, hi = round_up(start, DIRECT_IO_ALIGN), end // DIRECT_IO_ALIGN * DIRECT_IO_ALIGN
        # A range holding no whole aligned block is all edge: no second descriptor for it.
        self._lo, self._hi = (lo, hi) if lo < hi else (end, end)
        self._direct = open_direct_writer(fd) if buffered and lo < hi else None
        self._use_direct = self._direct is not None
        self._fd_bypasses_cache = bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)
        self._buffered = buffered
        self._writeback = self._start_writeback(start)
        self._direct_bytes = 0
        self._cached_body = False
        self._dirty: set[int] = set()

    @property
    def io(self) -> WriteIo:
        """How the pass reached the medium so far."""
        return "O_DIRECT" if self._direct_bytes and not self._cached_body else "buffered"

    def _start_writeback(self, offset: int) -> _Writeback | None:
        if self._buffered and not self._use_direct and not self._fd_bypasses_cache:
            return _Writeback(self.fd, offset)
        return None

    def _next_part(self, position: int, end: int) -> tuple[int, int, _Part]:
        """The descriptor, end and kind of the piece of ``[position, end)`` written next."""
        if self._direct is None or not self._use_direct:
            return self.fd, end, "direct" if self._fd_bypasses_cache else "cached"
        if position < self._lo:
            return self.fd, min(end, self._lo), "edge"
        if position < self._hi:
            return self._direct, min(end, self._hi), "direct"
        return self.fd, end, "edge"

    def write(self, view: memoryview, offset: int) -> tuple[list[ByteRange], int | None]:
        """Write ``view`` at ``offset``: the ranges that stayed unwritten, and the errno of
        the first error met (also when a retry got through); ``MediaGone`` when the medium
        is gone.

        Only the errno is kept: an exception kept in a local of this frame would tie the
        frame to its own traceback (a cycle), keeping views of the buffer alive until the
        garbage collector runs, and the buffer could not be closed.
        """
        bad: list[ByteRange] = []
        error: int | None = None
        position, end = offset, offset + len(view)
        while position < end:
            fd, part_end, kind = self._next_part(position, end)
            part = view[position - offset : part_end - offset]
            try:
                pwrite_all(fd, part, position)
                self.watch.wrote(position)
            except OSError as exc:
                if fd == self._direct and exc.errno == errno.EINVAL:
                    # The filesystem opens O_DIRECT but wants a larger alignment: the rest
                    # of the pass goes through the page cache, from this very piece (what
                    # a short write put on the medium is synced with the pass).
                    self._dirty.add(fd)
                    self._use_direct = False
                    self._writeback = self._start_writeback(position)
                    continue
                bad.extend(self.watch.refused(fd, part, position, exc))
                error = error or exc.errno or errno.EIO
            self._dirty.add(fd)
            if kind == "direct":
                self._direct_bytes += len(part)
            elif kind == "cached":
                self._cached_body = True
            position = part_end
        if self._writeback is not None:
            self._writeback.advance(end)
        return bad, error

    def sync(self) -> None:
        """``fdatasync`` what was written since the last sync: the page-cache descriptor
        first (the head and tail), then the ``O_DIRECT`` one.

        On Linux either sync covers the whole inode; each descriptor that wrote is synced
        because a FUSE server is told of a sync per open file. A pass that wrote nothing
        still ends with a sync of the caller's descriptor.
        """
        direct = self._direct
        if self.fd in self._dirty or direct not in self._dirty:
            os.fdatasync(self.fd)
        if direct is not None and direct in self._dirty:
            os.fdatasync(direct)
        self._dirty.clear()

    def close(self) -> None:
        """Release the ``O_DIRECT`` descriptor (the caller's stays open)."""
        if self._direct is not None:
            # Everything it wrote was synced, or the pass already failed: an error at close
            # (a FUSE flush) cannot change the outcome, so the pass's own error stands.
            with contextlib.suppress(OSError):
                os.close(self._direct)
            self._direct = None
