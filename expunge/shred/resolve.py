"""Named paths resolved from the root down without following a single symbolic link.

A symlink anywhere on the way (a parent folder swapped for a link while a tree is being
destroyed, or planted before) could redirect the overwrite to a file the user never named.
Each named path is therefore opened with ``openat2(RESOLVE_NO_SYMLINKS)``, or, where the
kernel lacks it, one component at a time with ``O_NOFOLLOW`` relative to the folder
before; a link on the way is refused, naming where it points. What was opened is then
named by the kernel (``/proc/self/fd``), so a record names the object actually opened.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import PurePosixPath

from expunge.core.errors import RefusedError, TargetError
from expunge.shred import libc
from expunge.shred.oserror import target_error

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_STEP = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# openat2 is missing (ENOSYS) before Linux 5.6, and some seccomp filters answer EPERM.
_NO_OPENAT2 = (errno.ENOSYS, errno.EPERM)


def split(path: str) -> tuple[str, str]:
    """``(parent, name)`` of an absolute, normalised ``path``; refused for ``/`` and for
    names that are not one entry of a folder."""
    pure = PurePosixPath(os.path.abspath(path))
    if pure.name in ("", ".", ".."):
        raise TargetError(
            "does not name a file or directory inside a folder",
            target=path,
            remedy="name the file or folder itself",
        )
    return str(pure.parent), pure.name


def open_dir(path: str, shown: str | None = None) -> int:
    """A descriptor of the folder ``path`` (absolute), reached without following links.

    ``shown`` is the name errors give (the path the user named, by default ``path``).
    """
    shown = shown or path
    try:
        return libc.openat2(libc.AT_FDCWD, path, _DIR, libc.RESOLVE_NO_SYMLINKS)
    except OSError as exc:
        if exc.errno not in _NO_OPENAT2:
            raise _walk_error(exc, path, shown) from exc
    return _open_by_steps(path, shown)


def _open_by_steps(path: str, shown: str) -> int:
    parts = PurePosixPath(path).parts[1:]
    fd = os.open("/", _STEP)
    try:
        for part in parts:
            try:
                step = os.open(part, _STEP, dir_fd=fd)
            except OSError as exc:
                raise _walk_error(exc, path, shown) from exc
            os.close(fd)
            fd = step
        # The last folder is opened for reading (listing, fsync), through the one we hold.
        try:
            return os.open(".", _DIR, dir_fd=fd)
        except OSError as exc:
            raise _walk_error(exc, path, shown) from exc
    finally:
        os.close(fd)


def _first_link(path: str) -> tuple[str, str] | None:
    """The first component of ``path`` that is a symbolic link, and where it points."""
    current = PurePosixPath("/")
    for part in PurePosixPath(path).parts[1:]:
        current = current / part
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return str(current), os.readlink(current)
        except OSError:
            return None
    return None


def _walk_error(exc: OSError, path: str, shown: str) -> TargetError | RefusedError:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        link = _first_link(path)
        if link is not None:
            where, points = link
            real = os.path.realpath(shown)
            return RefusedError(
                f"the folder {where} on the way is a symbolic link to {points}; links are "
                "never followed",
                target=shown,
                remedy=f"name the real path ({real}) if that is what you mean to destroy",
            )
    return target_error(exc, shown)


def real_path(dir_fd: int, name: str = "") -> str:
    """The kernel's name of the folder open as ``dir_fd`` (joined with ``name``): where
    the object really is, whatever path was used to reach it."""
    folder = os.readlink(f"/proc/self/fd/{dir_fd}")
    return os.path.join(folder, name) if name else folder
