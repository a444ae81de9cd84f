"""Block devices and files as the kernel sizes them: ioctls, full reads, sysfs holders.

One place for the numbers (``<linux/fs.h>``) and the little loops every layer needs, so a
drive, a LUKS container and a read-back agree on how big a target is and how it is read.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import struct
from pathlib import Path

BLKSSZGET = 0x1268
BLKPBSZGET = 0x127B
BLKGETSIZE64 = 0x80081272
BLKGETDISKSEQ = 0x80081280

# O_DIRECT wants buffers, offsets and lengths aligned to the logical block size; 4 KiB
# satisfies every device and filesystem seen in practice.
DIRECT_IO_ALIGN = 4096


def ioctl_u64(fd: int, request: int) -> int:
    """An ioctl answering one unsigned 64-bit integer (``BLKGETSIZE64``, ``BLKGETDISKSEQ``)."""
    return int(struct.unpack("=Q", fcntl.ioctl(fd, request, bytes(8)))[0])


def ioctl_int(fd: int, request: int) -> int:
    """An ioctl answering one C ``int`` (``BLKSSZGET``, ``BLKPBSZGET``)."""
    return int(struct.unpack("=i", fcntl.ioctl(fd, request, bytes(4)))[0])


def target_size(fd: int, st: os.stat_result | None = None) -> int:
    """Size of the open file or block device (``BLKGETSIZE64`` for a device)."""
    st = st if st is not None else os.fstat(fd)
    if stat.S_ISBLK(st.st_mode):
        return ioctl_u64(fd, BLKGETSIZE64)
    return st.st_size


def logical_block_size(fd: int, st: os.stat_result | None = None) -> int:
    """The unit O_DIRECT reads of this target must align to."""
    st = st if st is not None else os.fstat(fd)
    if stat.S_ISBLK(st.st_mode):
        return ioctl_int(fd, BLKSSZGET)
    return DIRECT_IO_ALIGN


def round_up(value: int, unit: int) -> int:
    """``value`` rounded up to a multiple of ``unit`` (an O_DIRECT length or offset)."""
    return -(-value // unit) * unit


def open_direct(path: str, flags: int) -> tuple[int, bool]:
    """Open ``path`` with ``flags | O_DIRECT``; ``(fd, True)``, or ``(fd, False)`` without it.

    Some filesystems (tmpfs, some FUSE) refuse ``O_DIRECT`` with ``EINVAL``: the path is
    then opened without it, and the caller must keep the page cache out of its reads
    another way (sync, then ``POSIX_FADV_DONTNEED``). Any other error is raised.
    """
    try:
        return os.open(path, flags | os.O_DIRECT), True
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
    return os.open(path, flags), False


def reopen_direct(fd: int, flags: int) -> tuple[int, bool]:
    """A fresh descriptor on the object ``fd`` is open on, through ``/proc/self/fd/N``.

    Opened with ``flags`` and, where the kernel allows it, ``O_DIRECT`` (see
    ``open_direct``): reading back through it needs neither ``fd``'s access mode nor its
    flags, so ``fd`` may be the write-only descriptor that wrote the data.
    """
    return open_direct(f"/proc/self/fd/{fd}", flags)


def pread_full(fd: int, view: memoryview, offset: int, unit: int = 1) -> int:
    """Read into ``view`` at ``offset`` until it is full or the target ends; bytes read.

    With O_DIRECT a short read that is not a multiple of ``unit`` is the end of the target.
    """
    got = 0
    total = len(view)
    while got < total:
        try:
            count = os.preadv(fd, [view[got:]], offset + got)
        except InterruptedError:
            continue
        if count == 0:
            break
        got += count
        if got % unit:
            break
    return got


def sysfs_holders(block_dir: Path) -> tuple[str, ...]:
    """The devices stacked on a block device (``/sys/class/block/X/holders``), sorted."""
    try:
        return tuple(sorted(p.name for p in (block_dir / "holders").iterdir()))
    except OSError:
        return ()
