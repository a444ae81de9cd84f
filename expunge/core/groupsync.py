"""Syncs shared by threads: one ``fsync`` makes durable what several threads wrote.

A tree is destroyed several files at a time, and each file's steps end in syncs of the
same two inodes: its run log (a line before the first write, one after the read-back)
and its folder (after every rename of its name, and after the unlink). Each thread
syncing on its own asks the device for one flush per step; a thread that finds a sync
in progress when its own step is written can instead wait for the next one, which covers
every step written before it began. What each caller is promised is unchanged: its call
returns only after an ``fsync`` (or ``fdatasync``) that *began after* its step was
written has completed, so a file's content is still durable before its renames, and
its renames before its unlink.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


class GroupSync:
    """Group commit for one file or folder: ``sync(flush)`` after writing to it, where
    ``flush`` syncs it (``os.fsync`` or ``os.fdatasync`` of the caller's descriptor of
    the inode: a sync acts on the inode, so any descriptor of it covers every caller).

    A failed ``flush`` raises to the caller that ran it; the callers it would have
    covered run their own next, so nobody is told of durability a failed sync did not
    give.
    """

    def __init__(self) -> None:
        self._counter = threading.Lock()  # held only to count steps, never during a sync
        self._syncing = threading.Lock()  # one sync at a time
        self._written = 0  # steps announced by callers, each after its write
        self._durable = 0  # steps known durable: announced before a sync that completed

    def sync(self, flush: Callable[[], None]) -> None:
        """Return once what the caller wrote before calling is durable."""
        with self._counter:
            self._written += 1
            mine = self._written
        with self._syncing:
            if self._durable >= mine:
                return  # a sync that began after this step was written has completed
            with self._counter:
                covered = self._written
            flush()
            self._durable = covered


class _Folder:
    """A folder's group, and how many threads are syncing through it."""

    def __init__(self) -> None:
        self.group = GroupSync()
        self.users = 0


class FolderSyncs:
    """A ``GroupSync`` per folder (by device and inode) for threads that rename and unlink
    names in the same folders, each through its own descriptor: ``sync(dir_fd)``.

    A folder's group lives while a thread syncs it, so a tree of many folders holds no
    more of them than there are threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._folders: dict[tuple[int, int], _Folder] = {}

    def sync(self, dir_fd: int) -> None:
        """``fsync(dir_fd)``, shared with the other threads syncing the same folder."""
        st = os.fstat(dir_fd)
        key = (st.st_dev, st.st_ino)
        with self._lock:
            folder = self._folders.setdefault(key, _Folder())
            folder.users += 1
        try:
            folder.group.sync(lambda: os.fsync(dir_fd))
        finally:
            with self._lock:
                folder.users -= 1
                if not folder.users:
                    del self._folders[key]
