"""Fail closed on filesystems: where an in-place overwrite is known to reach a file's blocks.

An allow-list, each entry with what still survives an overwrite there (names, metadata):

- ext2, ext3, ext4 in ordered or writeback mode: content is rewritten in place; names and
  metadata go through the journal and stay in freed directory blocks. Data journaling
  (``data=journal`` by mount option or superblock default, or a file's ``+j``) and files
  stored inline in their inode (``inline_data``) leave content in the journal: refused.
- XFS: content in place unless an extent is shared (reflink, dedupe): refused then.
- FAT (the kernel's vfat): ``fat_get_block`` maps a file's existing clusters and only
  allocates past its end (Linux fs/fat/inode.c), and FAT has no journal: content is
  rewritten in place; deleted directory entries may keep their names.
- tmpfs and ramfs: in memory; pages may have gone to swap before.
- FUSE filesystems served by a program known to rewrite in place: fusefat (FAT),
  exfat-fuse (exFAT), ntfs-3g (NTFS), each proven on a real image in the test suite.

Copy-on-write, network and layered filesystems are refused as hazards (exit 3). Every
other filesystem (kernel exFAT, ntfs3, jfs, reiserfs, erofs, squashfs, an unknown magic, a
FUSE server that cannot be identified) is refused as unsupported (exit 4). Both can be
overwritten anyway with ``--accept-limitations``, which records the limitation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from expunge.core.errors import ExpungeError, RefusedError, TargetError
from expunge.shred import ext4, fsinfo, fuse
from expunge.shred.mounts import MOUNTINFO, MountFacts
from expunge.shred.report import Limitation

UNSUPPORTED = "unsupported-filesystem"
_WIPE_DRIVE = "wipe the whole drive"

# What each identified FUSE server's on-disk format keeps after an in-place overwrite.
_FAT_NAMES = (
    "a deleted directory entry may keep the short name (all but its first character) and "
    "the long name until the entry is reused"
)
_FUSE_FORMATS: dict[str, tuple[str, str, str]] = {
    "fusefat": ("fat-names", "FAT", _FAT_NAMES),
    "mount.exfat-fuse": (
        "exfat-names",
        "exFAT",
        "a deleted directory entry set may keep the whole file name (only its in-use bit is "
        "cleared) until it is reused",
    ),
    "ntfs-3g": (
        "ntfs-metadata",
        "NTFS",
        "the file's MFT record and its folder's index may keep the name and metadata until reused",
    ),
}
_FUSE_FORMATS["exfat-fuse"] = _FUSE_FORMATS["mount.exfat-fuse"]
_FUSE_FORMATS["lowntfs-3g"] = _FUSE_FORMATS["ntfs-3g"]

Verdict = tuple[str, list[Limitation], list[Limitation]]


def unsupported(name: str, why: str = "") -> Limitation:
    """The limitation of a filesystem not on the allow-list."""
    return Limitation(
        UNSUPPORTED,
        f"{name}{why} is not a filesystem where an in-place overwrite is known to reach the "
        "old blocks",
        f"{_WIPE_DRIVE}, or seal such documents and crypto-erase them",
    )


def refusal(path: str, first: Limitation) -> ExpungeError:
    """The error for a blocking limitation the user did not accept: a hazard is refused
    (exit 3), a filesystem not on the allow-list is an unsupported target (exit 4)."""
    accept = "or pass --accept-limitations to overwrite anyway (the limitation is recorded)"
    if first.code == UNSUPPORTED:
        return TargetError(first.text, target=path, remedy=f"{first.remedy}; {accept}")
    return RefusedError(
        f"an overwrite cannot reach the old data: {first.text}",
        target=path,
        remedy=f"{first.remedy}; {accept}",
    )


def limitations_of(
    fd: int, st: os.stat_result, mountinfo: Path = MOUNTINFO, mount_id: int | None = None
) -> tuple[str, tuple[Limitation, ...], tuple[Limitation, ...]]:
    """The filesystem's name, and what an overwrite cannot promise on it.

    Returns ``(filesystem, blocking, recorded)``: blocking limitations are refused unless
    the user accepts them (``refusal`` says how); recorded ones only go into the report.
    ``filesystem`` is the driver's name where the mount table tells it (``ext3``,
    ``fuse.ntfs-3g``), else the ``fstatfs`` name. ``mount_id`` is ``fd``'s where the
    caller has it.
    """
    magic = fsinfo.filesystem_type(fd)
    mount = fsinfo.mount_of_fd(fd, mountinfo, mount_id)
    name, blocking, recorded = _by_filesystem(fd, st, magic, mount)
    recorded += _of_the_medium(st)
    return name, tuple(blocking), tuple(map(_shared, recorded))


_SHARED: dict[Limitation, Limitation] = {}
_SHARED_MOST = 256


def _shared(limitation: Limitation) -> Limitation:
    """One object for each distinct note: the files of a tree all carry the same few, and
    10,000 copies of a 200-character text were a quarter of what a tree's reports hold."""
    if len(_SHARED) >= _SHARED_MOST:
        return _SHARED.get(limitation, limitation)
    return _SHARED.setdefault(limitation, limitation)


def _by_filesystem(fd: int, st: os.stat_result, magic: str, mount: MountFacts | None) -> Verdict:
    if magic in fsinfo.COPY_ON_WRITE:
        return magic, [_hazard_copy_on_write(magic)], []
    if magic in fsinfo.NETWORK:
        return magic, [_hazard_network(magic)], []
    if magic in fsinfo.LAYERED:
        return magic, [_hazard_layered(magic)], []
    if magic == "fuse":
        return _fuse(mount)
    rule = _ALLOWED.get(magic)
    if rule is None:
        return magic, [unsupported(magic)], []
    return rule(fd, st, magic, mount)


def _hazard_copy_on_write(name: str) -> Limitation:
    return Limitation(
        "copy-on-write",
        f"{name} is copy-on-write: new data goes to new blocks, the old content stays on the "
        "medium",
        f"store such documents sealed and crypto-erase them, or {_WIPE_DRIVE}",
    )


def _hazard_network(name: str) -> Limitation:
    return Limitation(
        "network-filesystem",
        f"{name}: the server decides where the bytes go (snapshots, caches, replicas)",
        "destroy the data on the server itself, or seal it and crypto-erase",
    )


def _hazard_layered(name: str) -> Limitation:
    return Limitation(
        "layered-filesystem",
        f"{name}: the overwrite reaches whatever lies below, or a copy of it, not necessarily "
        "the original blocks",
        f"wipe the file on the underlying filesystem, or {_WIPE_DRIVE}",
    )


def _ext(fd: int, st: os.stat_result, magic: str, mount: MountFacts | None) -> Verdict:
    name = mount.fstype if mount is not None and mount.fstype in ("ext2", "ext3") else "ext4"
    if name == "ext2":
        note = Limitation(
            "directory-names",
            "ext2: file content is overwritten in place, but the file name may survive in "
            "freed directory entries",
            f"{_WIPE_DRIVE} to remove directory remnants",
        )
        return name, [], [note]
    flags = fsinfo.inode_flags(fd) or 0
    mode = ext4.data_mode(st.st_dev, mount)
    blocking = []
    if mode == "journal" or flags & fsinfo.FS_JOURNAL_DATA_FL:
        blocking.append(
            Limitation(
                "data-journal",
                f"{name} journals file data here (data=journal by mount option or superblock "
                "default, or the file's +j attribute): old content may survive in the journal",
                f"{_WIPE_DRIVE}; a file overwrite cannot reach the journal's copies",
            )
        )
    elif mode is None:
        blocking.append(
            Limitation(
                "data-mode-unknown",
                f"{name}: the data mode cannot be read (no /proc/fs/ext4 entry and the "
                "superblock is unreadable), so content may also be in the journal",
                "run as root, or wipe the whole drive",
            )
        )
    if flags & fsinfo.FS_INLINE_DATA_FL:
        blocking.append(
            Limitation(
                "inline-data",
                f"{name} stores this small file inside its inode (inline_data): inode updates "
                "go through the journal, so old content may survive there",
                _WIPE_DRIVE,
            )
        )
    note = Limitation(
        "journal-metadata",
        f"{name} ({mode or 'unknown'} mode): file content is overwritten in place, but the "
        "file name and metadata may survive in the filesystem journal and in freed directory "
        "blocks",
        f"{_WIPE_DRIVE} to remove journal and directory remnants",
    )
    return name, blocking, [note]


def _xfs(fd: int, st: os.stat_result, magic: str, mount: MountFacts | None) -> Verdict:
    blocking = []
    shared = fsinfo.has_shared_extents(fd, st.st_size)
    if shared or shared is None:
        blocking.append(
            Limitation(
                "shared-extents",
                "the file shares extents with another file (reflink), or its extents cannot "
                "be listed: an overwrite gets new blocks and the shared ones keep the old "
                "content",
                f"wipe every file sharing the extents, or {_WIPE_DRIVE}",
            )
        )
    note = Limitation(
        "journal-metadata",
        "xfs: file content is overwritten in place, but the file name and metadata may "
        "survive in the log and in freed directory blocks",
        f"{_WIPE_DRIVE} to remove log and directory remnants",
    )
    return magic, blocking, [note]


def _fat(fd: int, st: os.stat_result, magic: str, mount: MountFacts | None) -> Verdict:
    note = Limitation(
        "fat-names",
        f"{magic}: file content is overwritten in place, but {_FAT_NAMES}",
        f"{_WIPE_DRIVE}, or overwrite the free directory entries",
    )
    return magic, [], [note]


def _memory(fd: int, st: os.stat_result, magic: str, mount: MountFacts | None) -> Verdict:
    note = Limitation(
        "memory-filesystem",
        f"{magic}: content lives in RAM; pages may have been swapped out earlier",
        "use encrypted swap, or none",
    )
    return magic, [], [note]


_ALLOWED: dict[str, Callable[[int, os.stat_result, str, MountFacts | None], Verdict]] = {
    "ext4": _ext,
    "xfs": _xfs,
    "vfat": _fat,
    "tmpfs": _memory,
    "ramfs": _memory,
}


def _fuse(mount: MountFacts | None) -> Verdict:
    program = fuse.server_program(mount) if mount is not None else None
    if mount is None or program is None:
        return "fuse", [unsupported("fuse", " (a FUSE server that cannot be identified)")], []
    name = f"fuse.{program}"
    known = _FUSE_FORMATS.get(program)
    if known is None:
        return name, [unsupported(name)], []
    code, form, keeps = known
    names = Limitation(
        code,
        f"{form} (FUSE, {program}): file content is overwritten in place, but {keeps}",
        f"{_WIPE_DRIVE}, or overwrite the free directory entries",
    )
    driver = Limitation(
        "fuse-server",
        f"the overwrite and its sync reach the FUSE program {program}, which decides when "
        f"the bytes reach {mount.source}",
        "unmount it cleanly before the medium is removed",
    )
    return name, [], [names, driver]


def _of_the_medium(st: os.stat_result) -> list[Limitation]:
    recorded = []
    if st.st_blocks * 512 < st.st_size:
        recorded.append(
            Limitation(
                "sparse",
                "the file is sparse: holes held no data and are now filled; data in blocks "
                "freed earlier (hole punching, truncation) is out of reach",
                "wipe the whole drive, or the free space of the filesystem",
            )
        )
    if fsinfo.rotational(st.st_dev) is False:
        recorded.append(
            Limitation(
                "flash-media",
                "the medium is flash/SSD (not rotational): wear levelling may keep old copies "
                "in remapped or over-provisioned blocks that no overwrite can address",
                "seal documents and crypto-erase them, or sanitize the drive itself "
                "(NIST SP 800-88 Purge)",
            )
        )
    return recorded
