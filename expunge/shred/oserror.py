"""OS errors on a named target, as the one line a user sees."""

from __future__ import annotations

import errno
import os
import stat

from expunge.core.errors import TargetError


def kind_of(mode: int) -> str:
    """What a non-regular file is, for a refusal: ``a FIFO``, ``a symbolic link``..."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISBLK(mode):
        return "a block device node"
    if stat.S_ISCHR(mode):
        return "a character device node"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def target_error(exc: OSError, path: str) -> TargetError:
    """The one-line error for an OS error on ``path``."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return TargetError(
            "permission denied", target=path, remedy="run as the file's owner or as root"
        )
    if exc.errno == errno.EROFS:
        return TargetError(
            "the filesystem is read-only",
            target=path,
            remedy="remount it read-write, or wipe the whole drive",
        )
    if exc.errno == errno.ENOENT:
        return TargetError("no such file or directory", target=path, remedy="check the path")
    return TargetError(os.strerror(exc.errno or errno.EIO), target=path)
