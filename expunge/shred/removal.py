"""The removal phase: a name checked removable before anything is written, then truncated,
renamed to noise several times, synced and unlinked; every failure one typed error.

Old names live on in directory blocks until overwritten; each rename overwrites the
directory entry with noise first. A failure after the overwrite began is a
``RemovalError`` saying what was done (truncated, renamed to what, not unlinked), so the
workflow records it in the outcome instead of stopping with a traceback.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

from expunge.core.errors import TargetError
from expunge.core.groupsync import FolderSyncs
from expunge.shred import fsinfo, libc
from expunge.shred.resolve import real_path

# Noise names of 32 letters and digits, drawn a byte each: 256 is a multiple of 32, so
# every character is equally likely (one call for the name, not one per character).
# Spelled out: the string module compiles a regular expression at import.
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz012345"
_NAME_TABLE = bytes(ord(_NAME_CHARS[b % len(_NAME_CHARS)]) for b in range(256))
_RENAME_ATTEMPTS = 16
_CAP_FOWNER = 3
_KEEP = "or pass --keep to overwrite without removing"
# The files of a tree in flight at once rename and unlink in the same folders: a folder
# synced for one of them after another's rename has covered it too (``groupsync``).
_FOLDERS = FolderSyncs()


class RemovalError(TargetError):
    """Removing an overwritten name failed: ``done`` lists the steps that succeeded,
    ``name`` is what the entry is called now (``None`` once it is unlinked)."""

    def __init__(self, path: str, step: str, exc: OSError, done: tuple[str, ...], name: str | None):
        what = f"{step} failed: {exc.strerror or exc}"
        if done:
            what += f" (done: {', '.join(done)})"
        left = f"the entry is still there as {name}" if name is not None else "it is unlinked"
        super().__init__(
            f"{what}; {left}",
            target=path,
            remedy="fix the cause and remove it by hand; its content was overwritten",
        )
        self.step = step
        self.done = done
        self.name = name


def _capable(bit: int, status: Path = Path("/proc/self/status")) -> bool:
    try:
        for line in status.read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> bit & 1)
    except (OSError, ValueError):
        pass
    return False


def check_removable(dir_fd: int, name: str, path: str) -> None:
    """Refuse (``TargetError``) unless ``name`` in ``dir_fd`` can be renamed and unlinked:
    the folder is neither immutable nor append-only, this process may write and search
    it, and a sticky folder's entry belongs to this process's user (or it has
    CAP_FOWNER). Run before the first byte is written."""
    folder = real_path(dir_fd)
    flags = fsinfo.inode_flags(dir_fd) or 0
    if flags & fsinfo.FS_IMMUTABLE_FL:
        raise TargetError(
            f"its folder {folder} is immutable (chattr +i): the name could not be removed",
            target=path,
            remedy=f"run chattr -i {folder} first, {_KEEP}",
        )
    if flags & fsinfo.FS_APPEND_FL:
        raise TargetError(
            f"its folder {folder} is append-only (chattr +a): names cannot be removed from it",
            target=path,
            remedy=f"run chattr -a {folder} first, {_KEEP}",
        )
    if not os.access(f"/proc/self/fd/{dir_fd}", os.W_OK | os.X_OK, effective_ids=True):
        raise TargetError(
            f"no permission to remove names from its folder {folder}",
            target=path,
            remedy=f"run as the folder's owner or as root, {_KEEP}",
        )
    folder_st = os.fstat(dir_fd)
    entry = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    euid = os.geteuid()
    if (
        folder_st.st_mode & stat.S_ISVTX
        and euid not in (entry.st_uid, folder_st.st_uid)
        and not _capable(_CAP_FOWNER)
    ):
        raise TargetError(
            f"its folder {folder} is sticky and the file belongs to uid {entry.st_uid}: "
            "only its owner can remove it",
            target=path,
            remedy=f"run as uid {entry.st_uid} or as root, {_KEEP}",
        )


def _random_name(length: int) -> str:
    # os.urandom, the secrets module's own source: secrets imports hmac, hashlib (which
    # loads OpenSSL's libcrypto) and random, about 2% of a one-file shred.
    return os.urandom(length).translate(_NAME_TABLE).decode("ascii")


def _rename_lengths(name: str) -> list[int]:
    size = min(len(os.fsencode(name)), 255)
    return sorted({max(1, size * k // 4) for k in (4, 3, 2, 1)} | {1}, reverse=True)


def rename_noreplace(dir_fd: int, old: str, new: str) -> None:
    """Rename inside one directory, never replacing an existing name.

    Where the filesystem has no ``RENAME_NOREPLACE`` (FUSE, some network filesystems
    answer EINVAL), the new name is checked absent and a plain rename follows: a name
    created in between by someone else would be replaced, which a random name of this
    length makes negligible.
    """
    try:
        libc.renameat2(dir_fd, old, new, libc.RENAME_NOREPLACE)
        return
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOSYS):
            raise
    try:
        os.stat(new, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        os.rename(old, new, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return
    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), new)


class _Steps:
    """One removal in progress: what has been done, and the entry's current name."""

    def __init__(self, dir_fd: int, name: str, path: str):
        self.dir_fd = dir_fd
        self.name = name
        self.unlinked = False
        self.path = path
        self.done: list[str] = []

    def failed(self, step: str, exc: OSError) -> RemovalError:
        left = None if self.unlinked else self.name
        return RemovalError(self.path, step, exc, tuple(self.done), left)

    def run(self, step: str, action: Callable[[], object], done: str | None = None) -> None:
        try:
            action()
        except OSError as exc:
            raise self.failed(step, exc) from exc
        if done:
            self.done.append(done)

    def scrub(self) -> None:
        """Rename to random names of shrinking length, syncing the directory each time."""
        for length in _rename_lengths(self.name):
            for _ in range(_RENAME_ATTEMPTS):
                candidate = _random_name(length)
                try:
                    rename_noreplace(self.dir_fd, self.name, candidate)
                except FileExistsError:
                    continue
                except OSError as exc:
                    raise self.failed("rename", exc) from exc
                self.name = candidate
                self.done.append(f"renamed to {candidate}")
                self.run("directory sync", lambda: _FOLDERS.sync(self.dir_fd))
                break

    def unlink(self, remove: Callable[..., None]) -> None:
        self.run("unlink", lambda: remove(self.name, dir_fd=self.dir_fd), "unlinked")
        self.unlinked = True
        self.run("directory sync", lambda: _FOLDERS.sync(self.dir_fd))


def remove_open_file(fd: int, dir_fd: int, name: str, path: str) -> None:
    """Truncate and sync the overwritten file open as ``fd``, scrub its name, unlink it."""
    steps = _Steps(dir_fd, name, path)
    steps.run("truncate", lambda: os.ftruncate(fd, 0), "truncated to 0 bytes")
    steps.run("sync", lambda: os.fsync(fd))
    steps.scrub()
    steps.unlink(os.unlink)


def remove_other(dir_fd: int, name: str, path: str | None = None) -> None:
    """Unlink a symlink, FIFO, socket or device node inside a tree (never following it)."""
    steps = _Steps(dir_fd, name, path or real_path(dir_fd, name))
    steps.scrub()
    steps.unlink(os.unlink)


def remove_directory(dir_fd: int, name: str, path: str | None = None) -> None:
    """Rename an emptied directory to noise and remove it."""
    steps = _Steps(dir_fd, name, path or real_path(dir_fd, name))
    steps.scrub()
    steps.unlink(os.rmdir)
