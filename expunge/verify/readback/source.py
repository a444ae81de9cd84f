"""Reading the media, not the page cache: ``O_DIRECT``, or sync and ``POSIX_FADV_DONTNEED``."""

from __future__ import annotations

import errno
import fcntl
import os

from expunge.core.blockdev import pread_full
from expunge.core.errors import MediaIOError, TargetError


def errno_note(exc: OSError) -> str:
    """An OS error as a report notes it: ``"EIO: Input/output error"``."""
    code = exc.errno
    name = errno.errorcode.get(code, str(code)) if code is not None else "error"
    return f"{name}: {exc.strerror or exc}"


class MediaSource:
    """The read descriptor of a target, and how its reads keep the page cache out.

    ``direct`` says whether ``fd`` reads with ``O_DIRECT``; without it (refused at open,
    or at the first read) every range is dropped from the page cache right before it is
    read. ``unit`` is the alignment of every ``O_DIRECT`` offset and length.
    """

    def __init__(self, fd: int, direct: bool, name: str, sync_fd: int | None, unit: int) -> None:
        self.fd = fd
        self.direct = direct
        self.name = name
        self.sync_fd = sync_fd
        self.unit = unit

    @property
    def cache_bypass(self) -> str:
        """How the page cache was kept out, as the report records it."""
        return "O_DIRECT" if self.direct else "fadvise-dontneed"

    def read(self, view: memoryview, offset: int) -> int:
        """Fill ``view`` from ``offset`` unless the target ends first; bytes read."""
        if not self.direct:
            os.posix_fadvise(self.fd, offset, len(view), os.POSIX_FADV_DONTNEED)
        # An O_DIRECT read that stops at an unaligned count has met the end of the target.
        return pread_full(self.fd, view, offset, self.unit if self.direct else 1)

    def read_rest(self, view: memoryview, offset: int) -> int:
        """Go on with an ``O_DIRECT`` read that came back short; bytes read."""
        return pread_full(self.fd, view, offset, self.unit)

    def fall_back(self) -> None:
        """Switch to sync + ``POSIX_FADV_DONTNEED`` + buffered reads (before any worker)."""
        flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        fcntl.fcntl(self.fd, fcntl.F_SETFL, flags & ~os.O_DIRECT)
        self.direct = False
        self.drop_cache()

    def drop_cache(self) -> None:
        """Make what was written durable, then drop the whole target from the page cache."""
        try:
            if self.sync_fd is not None:
                os.fdatasync(self.sync_fd)
            else:
                os.fsync(self.fd)
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # EINVAL: the object cannot hold dirty data
                raise MediaIOError(
                    f"sync before read-back failed: {errno_note(exc)}", target=self.name
                ) from exc
        try:
            os.posix_fadvise(self.fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError as exc:
            raise TargetError(
                f"cannot bypass the page cache (O_DIRECT refused, fadvise failed: "
                f"{errno_note(exc)})",
                target=self.name,
                remedy="verification from cached pages would prove nothing",
            ) from exc
