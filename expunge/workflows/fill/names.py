"""The names of deleted files on FAT: overwritten by refilling every directory's free
entries.

Deleting a file on FAT only marks its directory entries free (the first byte becomes
E5h); the rest of the short name and every long-name entry stay in the directory's
clusters, where a raw scan reads them. Creating files reuses free entries, so each
directory gets new empty files until one of them needs a new cluster (the filesystem's
free count drops: every free entry of the old clusters is then in use), and they are
removed again: the entries are free once more, holding only these generated names.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable

from expunge.workflows.fill.state import FillJournal

NAME = "EXP{:05X}.NAM"
NAME_PATTERN = re.compile(r"EXP[0-9A-F]{5}\.NAM")
# 8.3 names (one entry each where the driver writes no long name), at most 2**20 a folder.
MAX_PER_DIRECTORY = 1 << 20
_FULL = frozenset({errno.ENOSPC, errno.EMLINK, errno.EDQUOT})


def refill_names(
    root_fd: int, journal: FillJournal, skip: str, stopped: Callable[[], bool]
) -> int | None:
    """Refill the free entries of every directory of the filesystem open as ``root_fd``
    (not crossing into other filesystems, not into the fill folder ``skip``).

    Returns how many entries were refilled, or None when stopped (the journal says
    which directory was in progress: ``clean_leftovers`` removes what was left there).
    """
    clean_leftovers(root_fd, journal)
    root_dev = os.fstat(root_fd).st_dev
    total = journal.record.names_refilled
    for path, dirs, _files, dir_fd in os.fwalk(".", dir_fd=root_fd, follow_symlinks=False):
        dirs[:] = [
            d
            for d in dirs
            if not (path == "." and d == skip)
            and os.stat(d, dir_fd=dir_fd, follow_symlinks=False).st_dev == root_dev
        ]
        if stopped():
            return None
        journal.update(names_dir=path)
        total += _refill(dir_fd, root_fd)
        journal.update(names_dir=None, names_refilled=total)
    journal.update(names_done=True)
    return total


def clean_leftovers(root_fd: int, journal: FillJournal) -> None:
    """Remove the empty generated files an interrupted refill left in its directory."""
    where = journal.record.names_dir
    if where is None:
        return
    try:
        dir_fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=root_fd)
    except FileNotFoundError:
        return
    try:
        for name in os.listdir(dir_fd):
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if NAME_PATTERN.fullmatch(name) and st.st_size == 0:
                os.unlink(name, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    journal.update(names_dir=None)


def _free_marks(root_fd: int) -> tuple[int, int]:
    # The kernel's vfat counts free clusters in f_bfree; fusefat in f_ffree.
    vfs = os.fstatvfs(root_fd)
    return vfs.f_bfree, vfs.f_ffree


def _refill(dir_fd: int, root_fd: int) -> int:
    """Create empty files in one directory until it grows, then remove them."""
    before = _free_marks(root_fd)
    created: list[str] = []
    try:
        for number in range(MAX_PER_DIRECTORY):
            name = NAME.format(number)
            try:
                fd = os.open(
                    name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd
                )
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno in _FULL:
                    break
                raise
            os.close(fd)
            created.append(name)
            if _free_marks(root_fd) != before:
                break
    finally:
        for name in created:
            os.unlink(name, dir_fd=dir_fd)
        _sync(dir_fd)
    return len(created)


def _sync(dir_fd: int) -> None:
    try:
        os.fsync(dir_fd)
    except OSError as exc:
        # Some FUSE drivers do not implement fsyncdir; the unmount flushes them.
        if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise
