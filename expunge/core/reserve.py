"""Room in the home for the record of a destruction, taken before its first write.

A destruction writes its wipe journals and run log while it overwrites, then its
certificate and its ledger entries. A home whose filesystem fills up on the way would leave
data destroyed without a record (SQLite even dies with SIGBUS when its shared-memory file
cannot grow). So, before the first byte is overwritten, the room the record needs is
checked and reserved: a file of that size is allocated in the home, and released right
before the certificate and the ledger are written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from pathlib import Path

from expunge.core.errors import TargetError

_CHUNK = 1 << 20


def _allocate(fd: int, size: int) -> None:
    try:
        os.posix_fallocate(fd, 0, size)
        return
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
    zeros = bytes(min(size, _CHUNK))
    done = 0
    while done < size:
        done += os.pwrite(fd, zeros[: size - done], done)
    os.fsync(fd)


class SpaceReserve:
    """Bytes held in the home until ``release``: the certificate and ledger then have them."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size

    @classmethod
    def take(cls, folder: Path, size: int, need: int, what: str) -> SpaceReserve:
        """Reserve ``size`` bytes on ``folder``'s filesystem, which must have ``need``
        bytes free in all (``size`` plus what is written before the release); or refuse,
        having written nothing. ``what`` says what the room is for, in the refusal.
        """
        st = os.statvfs(folder)
        free = st.f_bavail * st.f_frsize
        # Per thread: a sweep destroys several documents at once, each with its own room.
        path = folder / f".reserve-{os.getpid()}-{threading.get_native_id()}"
        problem = None
        if free < need:
            problem = f"its filesystem has {free} bytes free"
        else:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
                try:
                    _allocate(fd, size)
                finally:
                    os.close(fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    path.unlink()
                problem = f"{size} bytes cannot be reserved there ({exc.strerror})"
        if problem is not None:
            raise TargetError(
                f"{problem}; {what} needs about {need} bytes; nothing was written",
                target=str(folder),
                remedy="free space on the home's filesystem (or use another --home) and run again",
            )
        return cls(path, size)

    def release(self) -> None:
        """Give the reserved bytes back (right before the record is written)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
