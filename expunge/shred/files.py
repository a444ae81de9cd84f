"""File targets: open safely, check what an overwrite can promise, remove without trace.

The object wiped is the object checked: every check after the first ``lstat`` is made on
the open descriptor, and directories are walked with directory descriptors, so a path
swapped for a symlink between two steps can never redirect a write.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from expunge.core.errors import RefusedError, TargetError
from expunge.shred import fsinfo
from expunge.shred.report import Limitation, TargetIdentity

_OPEN_FLAGS = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NAME_CHARS = string.ascii_lowercase + string.digits
_RENAME_ATTEMPTS = 16


@dataclass(frozen=True)
class FileOptions:
    """What the user allowed beyond the safe defaults."""

    allow_hardlinks: bool = False
    accept_limitations: bool = False
    force: bool = False
    cross_filesystems: bool = False


def _kind_of(mode: int) -> str:
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


@dataclass
class OpenFile:
    """A regular file opened for overwriting, with the directory that names it.

    Holds two descriptors; ``close()`` releases them.
    """

    fd: int
    dir_fd: int
    name: str
    path: str
    identity: TargetIdentity
    limitations: tuple[Limitation, ...]

    def close(self) -> None:
        """Close the file and its directory descriptor."""
        for fd in (self.fd, self.dir_fd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> OpenFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def limitations_of(
    fd: int, st: os.stat_result, mountinfo: Path = Path("/proc/self/mountinfo")
) -> tuple[str, tuple[Limitation, ...], tuple[Limitation, ...]]:
    """The filesystem type, and what an overwrite cannot promise here.

    Returns ``(fstype, blocking, recorded)``: blocking limitations are refused unless the
    user accepts them; recorded ones are only written into the report.
    """
    fstype = fsinfo.filesystem_type(fd)
    mount = fsinfo.mount_of(st.st_dev, mountinfo)
    blocking: list[Limitation] = []
    recorded: list[Limitation] = []
    if fstype in fsinfo.COPY_ON_WRITE:
        blocking.append(
            Limitation(
                "copy-on-write",
                f"{fstype} is copy-on-write: new data goes to new blocks, the old content stays "
                "on the medium",
                "store such documents sealed and crypto-erase them, or wipe the whole drive",
            )
        )
    elif fstype in fsinfo.NETWORK:
        blocking.append(
            Limitation(
                "network-filesystem",
                f"{fstype}: the server decides where the bytes go (snapshots, caches, replicas)",
                "destroy the data on the server itself, or seal it and crypto-erase",
            )
        )
    elif fstype in fsinfo.LAYERED:
        blocking.append(
            Limitation(
                "layered-filesystem",
                f"{fstype}: the overwrite reaches whatever lies below, or a copy of it, "
                "not necessarily the original blocks",
                "wipe the file on the underlying filesystem, or wipe the whole drive",
            )
        )
    if fstype == "xfs" and fsinfo.has_shared_extents(fd, st.st_size):
        blocking.append(
            Limitation(
                "shared-extents",
                "the file shares extents with another file (reflink): an overwrite gets new "
                "blocks and the shared ones keep the old content",
                "wipe every file sharing the extents, or wipe the whole drive",
            )
        )
    if fstype == "ext4":
        if fsinfo.journals_data(fd, mount):
            blocking.append(
                Limitation(
                    "data-journal",
                    "ext4 journals file data here (data=journal or the +j attribute): "
                    "old content may survive in the journal",
                    "wipe the whole drive, or remount with data=ordered and rewrite the file",
                )
            )
        else:
            recorded.append(
                Limitation(
                    "journal-metadata",
                    "ext4 (ordered mode): file content is overwritten in place, but the file "
                    "name and metadata may survive in the filesystem journal",
                    "wipe the whole drive to remove journal remnants",
                )
            )
    if fstype in ("tmpfs", "ramfs"):
        recorded.append(
            Limitation(
                "memory-filesystem",
                f"{fstype}: content lives in RAM; pages may have been swapped out earlier",
                "use encrypted swap, or none",
            )
        )
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
    return fstype, tuple(blocking), tuple(recorded)


def _open_by_others(fd: int) -> bool:
    """True when another descriptor has the file open (a write lease is refused then)."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
    except OSError as exc:
        # EAGAIN/EBUSY: someone else has it open. Other errors (EINVAL on filesystems
        # without leases) tell us nothing either way.
        return exc.errno in (errno.EAGAIN, errno.EBUSY)
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    return False


def open_file_at(dir_fd: int, name: str, path: str, options: FileOptions) -> OpenFile:
    """Open ``name`` in ``dir_fd`` for overwriting, after every check; nothing is written.

    The caller's ``dir_fd`` is duplicated, so the result owns both its descriptors.
    """
    try:
        before = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        raise target_error(exc, path) from exc
    if stat.S_ISLNK(before.st_mode):
        where = os.readlink(name, dir_fd=dir_fd)
        raise TargetError(
            f"is a symbolic link to {where}; links are never followed",
            target=path,
            remedy="name the file it points to, if that is what you mean to destroy",
        )
    if stat.S_ISDIR(before.st_mode):
        raise TargetError("is a directory", target=path, remedy="use -r to destroy a directory")
    if not stat.S_ISREG(before.st_mode):
        raise TargetError(
            f"is {_kind_of(before.st_mode)}, not a regular file",
            target=path,
            remedy="whole drives are wiped with 'expunge drive wipe'",
        )
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RefusedError(
                "was replaced by a symbolic link while being checked", target=path
            ) from exc
        raise target_error(exc, path) from exc
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino) or not stat.S_ISREG(st.st_mode):
            raise RefusedError(
                "changed between the check and the open", target=path, remedy="try again"
            )
        if st.st_nlink > 1 and not options.allow_hardlinks:
            raise RefusedError(
                f"has {st.st_nlink - 1} other hard link(s); their names would keep "
                "pointing to the overwritten file",
                target=path,
                remedy="remove the other links first, or pass --allow-hardlinks",
            )
        fstype, blocking, recorded = limitations_of(fd, st)
        if blocking and not options.accept_limitations:
            first = blocking[0]
            raise RefusedError(
                f"an overwrite cannot reach the old data: {first.text}",
                target=path,
                remedy=f"{first.remedy}; or pass --accept-limitations to overwrite anyway",
            )
        if _open_by_others(fd) and not options.force:
            raise RefusedError(
                "is open in another process, which could write it back or keep reading it",
                target=path,
                remedy="close it first, or pass --force",
            )
        limitations = blocking + recorded
        if st.st_nlink > 1:
            limitations += (
                Limitation(
                    "hard-links",
                    f"{st.st_nlink - 1} other name(s) of this file persist (now pointing to "
                    "overwritten content)",
                    "remove the other names",
                ),
            )
        identity = TargetIdentity(
            path=path,
            kind="file",
            size=st.st_size,
            device=st.st_dev,
            inode=st.st_ino,
            filesystem=fstype,
            nlink=st.st_nlink,
            allocated=st.st_blocks * 512,
        )
        return OpenFile(fd, os.dup(dir_fd), name, path, identity, limitations)
    except BaseException:
        os.close(fd)
        raise


def open_parent(path: str) -> tuple[int, str]:
    """A descriptor of ``path``'s directory and the final name; only the name is unfollowed."""
    p = Path(path)
    name = p.name
    if name in ("", ".", "..") or str(p) == "/":
        raise TargetError(
            "does not name a file or directory inside a folder",
            target=path,
            remedy="name the file or folder itself",
        )
    try:
        dir_fd = os.open(p.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise target_error(exc, path) from exc
    return dir_fd, name


def open_file(path: str, options: FileOptions) -> OpenFile:
    """Open the file at ``path`` for overwriting (see ``open_file_at``)."""
    dir_fd, name = open_parent(path)
    try:
        return open_file_at(dir_fd, name, path, options)
    finally:
        os.close(dir_fd)


def _random_name(length: int) -> str:
    return "".join(secrets.choice(_NAME_CHARS) for _ in range(length))


def _rename_lengths(name: str) -> list[int]:
    size = min(len(os.fsencode(name)), 255)
    lengths = sorted({max(1, size * k // 4) for k in (4, 3, 2, 1)} | {1}, reverse=True)
    return lengths


def scrub_name(dir_fd: int, name: str) -> str:
    """Rename ``name`` to random names of shrinking length, syncing the directory each time.

    Returns the last name. Old names live on in directory blocks until overwritten; each
    rename overwrites the directory entry with noise first.
    """
    current = name
    for length in _rename_lengths(name):
        for _ in range(_RENAME_ATTEMPTS):
            candidate = _random_name(length)
            try:
                fsinfo.renameat_noreplace(dir_fd, current, candidate)
            except FileExistsError:
                continue
            current = candidate
            os.fsync(dir_fd)
            break
    return current


def remove_file(target: OpenFile) -> None:
    """Truncate, sync, rename several times, and unlink the overwritten file."""
    os.ftruncate(target.fd, 0)
    os.fsync(target.fd)
    last = scrub_name(target.dir_fd, target.name)
    os.unlink(last, dir_fd=target.dir_fd)
    os.fsync(target.dir_fd)


def remove_other(dir_fd: int, name: str) -> None:
    """Unlink a symlink, FIFO, socket or device node inside a tree (never following it)."""
    last = scrub_name(dir_fd, name)
    os.unlink(last, dir_fd=dir_fd)
    os.fsync(dir_fd)


def remove_directory(dir_fd: int, name: str) -> None:
    """Rename an emptied directory to noise and remove it."""
    last = scrub_name(dir_fd, name)
    os.rmdir(last, dir_fd=dir_fd)
    os.fsync(dir_fd)


@dataclass(frozen=True)
class TreeEntry:
    """One step of a tree walk; ``dir_fd`` is valid until the walk moves on.

    ``dir`` entries come after everything inside them (post-order), so the caller can
    remove a directory once it is empty.
    """

    kind: Literal["file", "other", "dir"]
    dir_fd: int
    name: str
    path: str


def _mount_points(mountinfo: Path) -> set[tuple[int, int]]:
    points: set[tuple[int, int]] = set()
    for line in mountinfo.read_text().splitlines():
        fields = line.split()
        if len(fields) > 4:
            mount_point = fields[4].encode().decode("unicode_escape")
            try:
                st = os.stat(mount_point)
            except OSError:
                continue
            points.add((st.st_dev, st.st_ino))
    return points


def open_tree(
    path: str, options: FileOptions, mountinfo: Path = Path("/proc/self/mountinfo")
) -> tuple[int, int, str]:
    """Open the directory at ``path`` for a recursive wipe: ``(parent_fd, dir_fd, name)``.

    Refuses ``/`` and every mount point, by ``(st_dev, st_ino)`` rather than by name.
    """
    parent_fd, name = open_parent(path) if Path(path).name else (-1, "")
    if parent_fd < 0:
        raise RefusedError("is the root directory", target=path, remedy="name what to destroy")
    try:
        try:
            before = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        except OSError as exc:
            raise target_error(exc, path) from exc
        if stat.S_ISLNK(before.st_mode):
            raise TargetError(
                f"is a symbolic link to {os.readlink(name, dir_fd=parent_fd)}",
                target=path,
                remedy="name the directory it points to, if that is what you mean",
            )
        if not stat.S_ISDIR(before.st_mode):
            raise TargetError(f"is {_kind_of(before.st_mode)}", target=path)
        root = os.stat("/")
        if (before.st_dev, before.st_ino) == (root.st_dev, root.st_ino):
            raise RefusedError("is the root directory", target=path, remedy="never")
        if (before.st_dev, before.st_ino) in _mount_points(mountinfo):
            raise RefusedError(
                "is a mount point", target=path, remedy="wipe the drive, or name a folder inside"
            )
        try:
            dir_fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        except OSError as exc:
            raise target_error(exc, path) from exc
        st = os.fstat(dir_fd)
        if (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino):
            os.close(dir_fd)
            raise RefusedError("changed between the check and the open", target=path)
        return parent_fd, dir_fd, name
    except BaseException:
        os.close(parent_fd)
        raise


def walk_tree(dir_fd: int, path: str, options: FileOptions) -> Iterator[TreeEntry]:
    """Every entry below the open directory ``dir_fd``, files first, directories after.

    Subdirectories are opened by name relative to their parent's descriptor with
    ``O_NOFOLLOW`` and checked by ``(st_dev, st_ino)`` against their ``lstat``; a
    subdirectory on another filesystem is refused unless ``cross_filesystems``.
    """
    root_dev = os.fstat(dir_fd).st_dev
    yield from _walk(dir_fd, path, root_dev, options)


def _walk(dir_fd: int, path: str, root_dev: int, options: FileOptions) -> Iterator[TreeEntry]:
    for name in sorted(os.listdir(dir_fd)):
        child_path = os.path.join(path, name)
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode):
            yield TreeEntry("file", dir_fd, name, child_path)
            continue
        if not stat.S_ISDIR(st.st_mode):
            yield TreeEntry("other", dir_fd, name, child_path)
            continue
        if st.st_dev != root_dev and not options.cross_filesystems:
            raise RefusedError(
                "is on another filesystem",
                target=child_path,
                remedy="unmount it, or pass --cross-filesystems",
            )
        try:
            child_fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise RefusedError(
                    "was replaced by a symbolic link during the walk; not followed",
                    target=child_path,
                ) from exc
            raise target_error(exc, child_path) from exc
        try:
            opened = os.fstat(child_fd)
            if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
                raise RefusedError("was replaced during the walk; not followed", target=child_path)
            yield from _walk(child_fd, child_path, root_dev, options)
        finally:
            os.close(child_fd)
        yield TreeEntry("dir", dir_fd, name, child_path)
