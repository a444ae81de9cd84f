"""The filesystem whose free space is filled: found by its mount point, judged by type.

Refused before anything is written: a path that is not a mount point, a read-only
mount, copy-on-write filesystems (their free space is not where old copies live:
snapshots and shared extents keep them allocated), network and memory filesystems, and
FUSE filesystems other than the known drivers of real on-disk formats.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from expunge.core.errors import RefusedError, TargetError
from expunge.shred import fsinfo

GIB = 1 << 30
FAT_MAX_FILE = 4 * GIB - 1
"""FAT stores a file's size in 32 bits."""
FILL_FILE_BYTES = GIB
"""Fill files are at most this large: an interruption loses at most one file's progress."""
_FUSE_FORMATS = {"fuse.fusefat": "vfat", "fuse.exfat": "exfat", "fuse.ntfs-3g": "ntfs"}
_MAX_FILE = {"vfat": FAT_MAX_FILE, "msdos": FAT_MAX_FILE}
FAT_KINDS = frozenset({"vfat", "msdos"})
_MOUNTINFO = Path("/proc/self/mountinfo")


@dataclass(frozen=True)
class FillTarget:
    """A mounted filesystem as the fill sees it.

    ``kind`` is the on-disk format (``vfat`` for FAT through the kernel or ``fusefat``);
    ``fstype`` the mount's own type; ``free`` the free bytes reported (blocks reserved for
    root included when running as root), None where the driver reports none (fusefat);
    ``block_size`` the smallest unit worth writing when the filesystem is nearly full.
    """

    mountpoint: str
    kind: str
    fstype: str
    source: str
    device: int
    fsid: int
    free: int | None
    reserved: int
    block_size: int
    rotational: bool | None

    @property
    def max_file(self) -> int:
        """The size of each fill file: what the format allows, at most ``FILL_FILE_BYTES``."""
        return min(_MAX_FILE.get(self.kind, FILL_FILE_BYTES), FILL_FILE_BYTES)

    @property
    def fat(self) -> bool:
        """A FAT filesystem, whose deleted directory entries keep their names."""
        return self.kind in FAT_KINDS


def open_target(mountpoint: str) -> tuple[FillTarget, int]:
    """The filesystem mounted at ``mountpoint``, and a descriptor on its root directory."""
    path = os.path.abspath(mountpoint)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise TargetError(
            f"cannot open it: {os.strerror(exc.errno or errno.EIO)}",
            target=mountpoint,
            remedy="name the directory a filesystem is mounted on (see findmnt)",
        ) from exc
    try:
        return _judge(path, fd), fd
    except BaseException:
        os.close(fd)
        raise


def _judge(path: str, fd: int) -> FillTarget:
    st = os.fstat(fd)
    mount = fsinfo.mount_of_fd(fd, _MOUNTINFO)
    if mount is None or mount.mount_point != path:
        raise TargetError(
            "is not the mount point of a filesystem",
            target=path,
            remedy="name the directory the filesystem is mounted on (see findmnt)",
        )
    kind = _FUSE_FORMATS.get(mount.fstype) or fsinfo.filesystem_type(fd)
    _refuse(path, kind, mount.fstype, mount.options)
    vfs = os.fstatvfs(fd)
    free_blocks = vfs.f_bfree if os.geteuid() == 0 else vfs.f_bavail
    known = vfs.f_blocks > 0
    return FillTarget(
        mountpoint=path,
        kind=kind,
        fstype=mount.fstype,
        source=mount.source,
        device=st.st_dev,
        fsid=vfs.f_fsid,
        free=free_blocks * vfs.f_frsize if known else None,
        reserved=(vfs.f_bfree - vfs.f_bavail) * vfs.f_frsize if known else 0,
        block_size=max(vfs.f_bsize, 512),
        rotational=fsinfo.rotational(st.st_dev),
    )


def _refuse(path: str, kind: str, fstype: str, options: frozenset[str]) -> None:
    if "ro" in options:
        raise TargetError(
            "is mounted read-only",
            target=path,
            remedy="remount it read-write (mount -o remount,rw)",
        )
    if kind in fsinfo.COPY_ON_WRITE:
        raise RefusedError(
            f"{kind} is copy-on-write: old copies stay in blocks that snapshots and shared "
            "extents keep allocated, where filling the free space does not reach; nothing "
            "was written",
            target=path,
            remedy="store such documents sealed and crypto-erase them, or wipe the whole drive",
        )
    if kind in fsinfo.NETWORK:
        raise RefusedError(
            f"{kind}: the server decides where the bytes go; nothing was written",
            target=path,
            remedy="wipe the free space on the server itself",
        )
    if kind in ("tmpfs", "ramfs"):
        raise RefusedError(
            f"{kind} lives in memory: its free space is RAM, which filling would exhaust",
            target=path,
            remedy="nothing to wipe on disk; use encrypted swap, or none",
        )
    if kind in fsinfo.LAYERED or kind == "fuse":
        raise RefusedError(
            f"{fstype}: a FUSE filesystem expunge does not know the format of; nothing was written",
            target=path,
            remedy="fill the free space of the filesystem underneath, or wipe the whole drive",
        )
