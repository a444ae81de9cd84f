"""Facts about the filesystem and medium under an open file: what an overwrite can reach.

Everything is read through the open descriptor (``fstatfs``, ``statx``, ``ioctl``) or from
the kernel's own tables by mount ID or device number, never by a second lookup of the path.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import functools
import os
import struct
from pathlib import Path

from expunge.shred import libc, mounts
from expunge.shred.mounts import MOUNTINFO, MountFacts, read_mounts

# f_type magic numbers from linux/magic.h.
FS_MAGIC: dict[int, str] = {
    0xEF53: "ext4",
    0x9123683E: "btrfs",
    0x58465342: "xfs",
    0x01021994: "tmpfs",
    0x858458F6: "ramfs",
    0x6969: "nfs",
    0x65735546: "fuse",
    0x2FC12FC1: "zfs",
    0xCA451A4E: "bcachefs",
    0xF2F52010: "f2fs",
    0x794C7630: "overlay",
    0xFF534D42: "cifs",
    0xFE534D42: "smb2",
    0x00C36400: "ceph",
    0x01021997: "9p",
    0x4D44: "vfat",
    0x2011BAB0: "exfat",
    0x5346544E: "ntfs",
    0x7366746E: "ntfs3",
    0x3153464A: "jfs",
    0x52654973: "reiserfs",
    0x73717368: "squashfs",
    0xE0F5E1E2: "erofs",
}
COPY_ON_WRITE = frozenset({"btrfs", "zfs", "bcachefs", "f2fs"})
NETWORK = frozenset({"nfs", "cifs", "smb2", "ceph", "9p"})
LAYERED = frozenset({"overlay"})

# <linux/fs.h> inode flags (FS_IOC_GETFLAGS answers an int whatever the ioctl's size says).
FS_IOC_GETFLAGS = 0x80086601
FS_IOC_GETVERSION = 0x80087601
FS_IMMUTABLE_FL = 0x00000010
FS_APPEND_FL = 0x00000020
FS_JOURNAL_DATA_FL = 0x00004000
FS_INLINE_DATA_FL = 0x10000000
_FS_IOC_FIEMAP = 0xC020660B
_FIEMAP_EXTENT_LAST = 0x1
_FIEMAP_EXTENT_SHARED = 0x2000
_FIEMAP_HEADER = struct.Struct("=QQIIII")
_FIEMAP_EXTENT = struct.Struct("=QQQQQIIII")
# Errors meaning "this filesystem has no such ioctl", as opposed to a failing medium.
_UNSUPPORTED = (errno.ENOTTY, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS)


def filesystem_type(fd: int) -> str:
    """The filesystem holding ``fd``, by ``fstatfs`` magic (``unknown-0x...`` if unlisted).

    ext2, ext3 and ext4 share one magic and all read as ``ext4`` here; the mount table
    names the driver (``mount_of_fd``).
    """
    buf = ctypes.create_string_buffer(256)
    if libc.libc().fstatfs(fd, buf) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    magic = struct.unpack_from("=q", buf.raw)[0] & 0xFFFFFFFF
    return FS_MAGIC.get(magic, f"unknown-{magic:#x}")


def mount_id(fd: int, facts: libc.Statx | None = None) -> int | None:
    """The ID of the mount ``fd`` was opened through (``statx``, else ``/proc`` fdinfo).

    Two names on one filesystem but on different mounts (a bind mount) share ``st_dev``
    and differ here: this is how a bind mount is told from a folder. ``facts`` is a
    ``statx`` of ``fd`` the caller already made (by default one is made here).
    """
    if facts is None:
        facts = libc.statx_fd(fd)
    if facts is not None and facts.mount_id is not None:
        return facts.mount_id
    try:
        text = Path(f"/proc/self/fdinfo/{fd}").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == "mnt_id":
            return int(value)
    return None


def on_another_mount(child_fd: int, parent_fd: int) -> bool:
    """Whether the open ``child_fd`` is on another mount than ``parent_fd``: another
    filesystem, or a bind mount of the same one (same ``st_dev``, another mount ID)."""
    child, parent = mount_id(child_fd), mount_id(parent_fd)
    if child is not None and parent is not None and child != parent:
        return True
    return os.fstat(child_fd).st_dev != os.fstat(parent_fd).st_dev


def mount_of_fd(
    fd: int, mountinfo: Path = MOUNTINFO, known_id: int | None = None
) -> MountFacts | None:
    """The mount ``fd`` lives on: by mount ID, else the last-mounted one of its device.

    ``known_id`` is ``fd``'s mount ID where the caller has it (by default it is asked).
    """
    wanted = mount_id(fd) if known_id is None else known_id
    st_dev = os.fstat(fd).st_dev
    devnum = f"{os.major(st_dev)}:{os.minor(st_dev)}"
    mounts = read_mounts(mountinfo)
    by_id = [m for m in mounts if m.mount_id == wanted]
    if by_id:
        return by_id[0]
    by_dev = [m for m in mounts if m.devnum == devnum]
    return by_dev[-1] if by_dev else None


def _ioctl_u32(fd: int, request: int) -> int | None:
    try:
        raw = fcntl.ioctl(fd, request, bytes(8))
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return None
        raise
    return int(struct.unpack_from("=I", raw)[0])


def inode_flags(fd: int) -> int | None:
    """The ``chattr`` flags of the open file or folder; None where the filesystem has none."""
    return _ioctl_u32(fd, FS_IOC_GETFLAGS)


def generation(fd: int) -> int | None:
    """The inode's generation number (``FS_IOC_GETVERSION``): new each time the filesystem
    reuses an inode number, so it tells a new file from the one that had the number."""
    return _ioctl_u32(fd, FS_IOC_GETVERSION)


def has_shared_extents(fd: int, size: int) -> bool | None:
    """True if any extent is shared (reflinked/deduplicated); None if FIEMAP is unsupported."""
    batch = 64
    start = 0
    while start < size:
        request = bytearray(_FIEMAP_HEADER.size + batch * _FIEMAP_EXTENT.size)
        _FIEMAP_HEADER.pack_into(request, 0, start, size - start, 0, 0, batch, 0)
        try:
            fcntl.ioctl(fd, _FS_IOC_FIEMAP, request)
        except OSError:
            return None
        mapped = _FIEMAP_HEADER.unpack_from(request, 0)[3]
        if mapped == 0:
            return False
        for i in range(mapped):
            logical, _phys, length, _r1, _r2, flags, *_ = _FIEMAP_EXTENT.unpack_from(
                request, _FIEMAP_HEADER.size + i * _FIEMAP_EXTENT.size
            )
            if flags & _FIEMAP_EXTENT_SHARED:
                return True
            if flags & _FIEMAP_EXTENT_LAST:
                return False
            start = logical + length
    return False


def block_device_name(st_dev: int, sys_root: Path = Path("/sys")) -> str | None:
    """The kernel's name of the block device ``st_dev`` (``loop3``, ``sda1``), if it is one."""
    link = sys_root / "dev/block" / f"{os.major(st_dev)}:{os.minor(st_dev)}"
    try:
        return link.resolve(strict=True).name
    except OSError:
        return None


def rotational(st_dev: int, sys_root: Path = Path("/sys")) -> bool | None:
    """Whether the disk under device number ``st_dev`` spins; None when sysfs cannot say.

    A partition's own folder has no ``queue``; its parent disk's does. Read once per
    device while the mount table stays the same (``mounts.generation``).
    """
    return _rotational(st_dev, sys_root, mounts.generation())


@functools.lru_cache(maxsize=64)
def _rotational(st_dev: int, sys_root: Path, _generation: int) -> bool | None:
    base = sys_root / "dev/block" / f"{os.major(st_dev)}:{os.minor(st_dev)}"
    for candidate in (base, base / ".."):
        flag = candidate / "queue/rotational"
        try:
            return flag.read_text().strip() == "1"
        except OSError:
            continue
    return None
