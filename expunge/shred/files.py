"""File targets: opened safely and checked for everything an overwrite must not miss.

The object wiped is the object checked: the path is resolved without following links
(``resolve``), and every check after the first ``lstat`` is made on the open descriptor,
so a path swapped for a symlink between two steps can never redirect a write. What the
filesystem allows is judged in ``filesystems``, removal in ``removal`` (its entry points
are importable from here too), folders in ``folders`` (imported only by a run that
walks one).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from dataclasses import dataclass

from expunge.core.errors import RefusedError, TargetError
from expunge.shred import fsinfo, libc, resolve
from expunge.shred.filesystems import limitations_of, refusal
from expunge.shred.journal import JournalTarget
from expunge.shred.oserror import kind_of, target_error
from expunge.shred.removal import RemovalError, check_removable, remove_directory, remove_other
from expunge.shred.removal import remove_open_file as _remove_open_file
from expunge.shred.report import Limitation, TargetIdentity

__all__ = [
    "FileOptions",
    "OpenFile",
    "RemovalError",
    "check_removable",
    "limitations_of",
    "open_file",
    "open_file_at",
    "open_parent",
    "remove_directory",
    "remove_file",
    "remove_other",
    "target_error",
]

_OPEN_FLAGS = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_PROBE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


@dataclass(frozen=True)
class FileOptions:
    """What the user allowed beyond the safe defaults."""

    allow_hardlinks: bool = False
    accept_limitations: bool = False
    force: bool = False
    cross_filesystems: bool = False


@dataclass(eq=False)  # holds descriptors: the same file only as itself
class OpenFile:
    """A regular file opened for overwriting, with the directory that names it.

    ``path`` is where the kernel says the opened file is (the folder's real path and the
    name), which is what a certificate names. ``generation`` and ``birth_ns`` pin the
    object for the wipe journal (None where the filesystem has none). Holds two
    descriptors; ``close()`` releases them.
    """

    fd: int
    dir_fd: int
    name: str
    path: str
    identity: TargetIdentity
    limitations: tuple[Limitation, ...]
    generation: int | None = None
    birth_ns: int | None = None

    @property
    def journal_target(self) -> JournalTarget:
        """The journal's view of this file, pinned to this very object."""
        return JournalTarget.from_identity(
            self.identity, generation=self.generation, birth_ns=self.birth_ns
        )

    def close(self) -> None:
        """Close the file and its directory descriptor."""
        for fd in (self.fd, self.dir_fd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> OpenFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_elsewhere(fd: int) -> bool | None:
    """Whether another descriptor has the file open: a write lease is refused then.

    None when the probe cannot tell: the lease is refused for lack of CAP_LEASE on a file
    this process does not own (EACCES), or the filesystem has no leases (EINVAL).
    """
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EBUSY):
            return True
        return None
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    return False


def _check_not_open_elsewhere(fd: int, path: str, options: FileOptions) -> None:
    if options.force:
        return
    found = _open_elsewhere(fd)
    if found:
        raise RefusedError(
            "is open in another process, which could write it back or keep reading it",
            target=path,
            remedy="close it first, or pass --force",
        )
    if found is None:
        raise RefusedError(
            "may be open in another process: the lease probe was refused (no CAP_LEASE for "
            "a file of another user, or no leases on this filesystem)",
            target=path,
            remedy="run as the file's owner or with CAP_LEASE, or pass --force if no "
            "process has it open",
        )


def _write_open_error(exc: OSError, dir_fd: int, name: str, path: str) -> TargetError:
    """Why the file cannot be opened for writing; its own ``chattr`` flags said plainly."""
    if exc.errno == errno.EPERM:
        try:
            fd = os.open(name, _PROBE_FLAGS, dir_fd=dir_fd)
        except OSError:
            return target_error(exc, path)
        try:
            flags = fsinfo.inode_flags(fd) or 0
        finally:
            os.close(fd)
        for bit, kind, letter in (
            (fsinfo.FS_IMMUTABLE_FL, "immutable", "i"),
            (fsinfo.FS_APPEND_FL, "append-only", "a"),
        ):
            if flags & bit:
                return TargetError(
                    f"is {kind} (chattr +{letter}): it cannot be overwritten",
                    target=path,
                    remedy=f"run chattr -{letter} on it first (as root)",
                )
    return target_error(exc, path)


def _check_readable(fd: int, path: str) -> None:
    """Read-back verification, fingerprints and resume checks read the file through a
    second descriptor: a file this process may write but not read is refused."""
    try:
        os.close(os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC))
    except OSError as exc:
        raise TargetError(
            "can be written but not read: the overwrite could not be verified",
            target=path,
            remedy="give read permission (chmod u+r), or run as root",
        ) from exc


def _check_object(
    fd: int,
    dir_fd: int,
    before: os.stat_result,
    path: str,
    options: FileOptions,
    mount_id: int | None,
) -> os.stat_result:
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino) or not stat.S_ISREG(st.st_mode):
        raise RefusedError(
            "changed between the check and the open", target=path, remedy="try again"
        )
    if mount_id != fsinfo.mount_id(dir_fd):
        raise RefusedError(
            "is a mount point (a file bind-mounted from elsewhere): overwriting it would "
            "destroy the file it shows",
            target=path,
            remedy="unmount it (umount), and name the file where it really lives",
        )
    if st.st_nlink > 1 and not options.allow_hardlinks:
        raise RefusedError(
            f"has {st.st_nlink - 1} other hard link(s); their names would keep "
            "pointing to the overwritten file",
            target=path,
            remedy="remove the other links first, or pass --allow-hardlinks",
        )
    return st


def open_file_at(dir_fd: int, name: str, path: str, options: FileOptions) -> OpenFile:
    """Open ``name`` in ``dir_fd`` for overwriting, after every check; nothing is written.

    The caller's ``dir_fd`` is duplicated, so the result owns both its descriptors.
    Removal is checked separately (``check_removable``): ``--keep`` does not need it.
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
        # Only a device node has something to wipe elsewhere; a FIFO or a socket holds no
        # data at all (remove it with rm if it must go).
        device = stat.S_ISBLK(before.st_mode) or stat.S_ISCHR(before.st_mode)
        raise TargetError(
            f"is {kind_of(before.st_mode)}, not a regular file",
            target=path,
            remedy="whole drives are wiped with 'expunge drive wipe'"
            if device
            else "it holds no stored data to overwrite; remove it with rm if it must go",
        )
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RefusedError(
                "was replaced by a symbolic link while being checked", target=path
            ) from exc
        raise _write_open_error(exc, dir_fd, name, path) from exc
    try:
        # One statx of the file for all that asks it: its mount (for the bind-mount check
        # and the mount table) and its birth time (for the journal).
        facts = libc.statx_fd(fd)
        mount_id = fsinfo.mount_id(fd, facts)
        st = _check_object(fd, dir_fd, before, path, options, mount_id)
        _check_readable(fd, path)
        fstype, blocking, recorded = limitations_of(fd, st, mount_id=mount_id)
        if blocking and not options.accept_limitations:
            raise refusal(path, blocking[0])
        _check_not_open_elsewhere(fd, path, options)
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
        real = resolve.real_path(dir_fd, name)
        identity = TargetIdentity(
            path=real,
            kind="file",
            size=st.st_size,
            device=st.st_dev,
            inode=st.st_ino,
            filesystem=fstype,
            nlink=st.st_nlink,
            allocated=st.st_blocks * 512,
        )
        return OpenFile(
            fd,
            os.dup(dir_fd),
            name,
            real,
            identity,
            limitations,
            fsinfo.generation(fd),
            None if facts is None else facts.birth_ns,
        )
    except BaseException:
        os.close(fd)
        raise


def open_parent(path: str) -> tuple[int, str]:
    """A descriptor of ``path``'s folder, reached without following any link, and the
    final name."""
    parent, name = resolve.split(path)
    return resolve.open_dir(parent, shown=path), name


def open_file(path: str, options: FileOptions) -> OpenFile:
    """Open the file at ``path`` for overwriting (see ``open_file_at``)."""
    dir_fd, name = open_parent(path)
    try:
        return open_file_at(dir_fd, name, path, options)
    finally:
        os.close(dir_fd)


def remove_file(target: OpenFile) -> None:
    """Truncate, sync, rename several times, and unlink the overwritten file;
    ``RemovalError`` says what was done when a step fails."""
    _remove_open_file(target.fd, target.dir_fd, target.name, target.path)
