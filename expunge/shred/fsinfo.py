"""Facts about the filesystem and medium under an open file: what an overwrite can reach.

Everything is read through the open descriptor (``fstatfs``, ``ioctl``) or from the kernel's
own tables by device number, never by a second lookup of the path.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import struct
from dataclasses import dataclass
from pathlib import Path

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
LAYERED = frozenset({"fuse", "overlay"})

_FS_IOC_GETFLAGS = 0x80086601
_FS_JOURNAL_DATA_FL = 0x00004000
_FS_IOC_FIEMAP = 0xC020660B
_FIEMAP_EXTENT_LAST = 0x1
_FIEMAP_EXTENT_SHARED = 0x2000
_FIEMAP_HEADER = struct.Struct("=QQIIII")
_FIEMAP_EXTENT = struct.Struct("=QQQQQIIII")


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def filesystem_type(fd: int) -> str:
    """The filesystem holding ``fd``, by ``fstatfs`` magic (``unknown-0x...`` if unlisted)."""
    buf = ctypes.create_string_buffer(256)
    if _libc().fstatfs(fd, buf) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    magic = struct.unpack_from("=q", buf.raw)[0] & 0xFFFFFFFF
    return FS_MAGIC.get(magic, f"unknown-{magic:#x}")


@dataclass(frozen=True)
class MountFacts:
    """The mount holding a device number, from ``/proc/self/mountinfo``."""

    mount_point: str
    fstype: str
    options: frozenset[str]
    source: str


def mount_of(st_dev: int, mountinfo: Path = Path("/proc/self/mountinfo")) -> MountFacts | None:
    """The last-mounted entry for ``st_dev`` (the one that is visible)."""
    wanted = f"{os.major(st_dev)}:{os.minor(st_dev)}"
    found: MountFacts | None = None
    for line in mountinfo.read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        tail = right.split()
        if len(fields) < 6 or len(tail) < 2 or fields[2] != wanted:
            continue
        options = set(fields[5].split(","))
        if len(tail) > 2:
            options.update(tail[2].split(","))
        found = MountFacts(fields[4], tail[0], frozenset(options), tail[1])
    return found


def journals_data(fd: int, mount: MountFacts | None) -> bool:
    """True when ext4 journals file data (``data=journal``, or the file's ``+j`` flag)."""
    if mount is not None and "data=journal" in mount.options:
        return True
    try:
        raw = fcntl.ioctl(fd, _FS_IOC_GETFLAGS, b"\0" * 8)
    except OSError:
        return False
    return bool(struct.unpack_from("=I", raw)[0] & _FS_JOURNAL_DATA_FL)


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


def rotational(st_dev: int, sys_root: Path = Path("/sys")) -> bool | None:
    """Whether the disk under device number ``st_dev`` spins; None when sysfs cannot say.

    A partition's own folder has no ``queue``; its parent disk's does.
    """
    base = sys_root / "dev/block" / f"{os.major(st_dev)}:{os.minor(st_dev)}"
    for candidate in (base, base / ".."):
        flag = candidate / "queue/rotational"
        try:
            return flag.read_text().strip() == "1"
        except OSError:
            continue
    return None


def renameat_noreplace(dir_fd: int, old: str, new: str) -> None:
    """Rename inside one directory, refusing to replace an existing name (``renameat2``)."""
    libc = _libc()
    rename_noreplace = 1
    if libc.renameat2(dir_fd, os.fsencode(old), dir_fd, os.fsencode(new), rename_noreplace):
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), new)
