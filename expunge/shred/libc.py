"""The system calls Python does not wrap, through the libc already loaded in the process.

``ctypes.util.find_library`` forks ``ldconfig`` (and ``gcc``) on every call: looking libc
up for each filesystem query cost thousands of processes for a tree of a few hundred
files. The interpreter is linked against libc, so ``dlopen(NULL)`` finds its symbols
without a search (and without importing ``ctypes.util``'s subprocess machinery).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
from dataclasses import dataclass

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_EMPTY_PATH = 0x1000
RENAME_NOREPLACE = 1

# <linux/openat2.h>; the syscall number is the same on every architecture (>= 424 are
# allocated in one table since Linux 5.1).
_SYS_OPENAT2 = 437
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04

# <linux/stat.h>
STATX_BTIME = 0x800
STATX_MNT_ID = 0x1000
_STATX_SIZE = 256
_STATX_BTIME_OFFSET = 80
_STATX_MNT_ID_OFFSET = 144


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library's symbols, opened on first use and shared by every caller."""
    return ctypes.CDLL(None, use_errno=True)


def _raise_errno(filename: str | None = None) -> None:
    err = ctypes.get_errno()
    raise OSError(err, os.strerror(err), filename)


def renameat2(dir_fd: int, old: str, new: str, flags: int) -> None:
    """``renameat2`` inside one directory; ``OSError`` with the kernel's errno."""
    if libc().renameat2(dir_fd, os.fsencode(old), dir_fd, os.fsencode(new), flags):
        _raise_errno(new)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def openat2(dir_fd: int, path: str, flags: int, resolve: int) -> int:
    """``openat2`` (Linux 5.6): ``OSError`` with ``ENOSYS`` where the kernel (or a seccomp
    filter) does not offer it, so the caller can fall back."""
    how = _OpenHow(flags, 0, resolve)
    call = libc().syscall
    call.restype = ctypes.c_long
    fd = call(
        ctypes.c_long(_SYS_OPENAT2),
        ctypes.c_int(dir_fd),
        ctypes.c_char_p(os.fsencode(path)),
        ctypes.byref(how),
        ctypes.c_size_t(ctypes.sizeof(how)),
    )
    if fd < 0:
        _raise_errno(path)
    return int(fd)


@dataclass(frozen=True)
class Statx:
    """The ``statx`` fields the checks need; None where the kernel or filesystem has none."""

    mount_id: int | None
    birth_ns: int | None


def statx_fd(fd: int) -> Statx | None:
    """Mount ID and birth time of the object open as ``fd``; None without ``statx``."""
    buf = ctypes.create_string_buffer(_STATX_SIZE)
    try:
        call = libc().statx
    except AttributeError:  # a C library older than glibc 2.28
        return None
    if call(fd, b"", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID | STATX_BTIME, buf):
        if ctypes.get_errno() in (errno.ENOSYS, errno.EINVAL):
            return None
        _raise_errno()
    mask = int.from_bytes(buf.raw[0:4], "little")
    mount_id = birth = None
    if mask & STATX_MNT_ID:
        at = _STATX_MNT_ID_OFFSET
        mount_id = int.from_bytes(buf.raw[at : at + 8], "little")
    if mask & STATX_BTIME:
        at = _STATX_BTIME_OFFSET
        seconds = int.from_bytes(buf.raw[at : at + 8], "little", signed=True)
        nanos = int.from_bytes(buf.raw[at + 8 : at + 12], "little")
        birth = seconds * 1_000_000_000 + nanos
    return Statx(mount_id, birth)
