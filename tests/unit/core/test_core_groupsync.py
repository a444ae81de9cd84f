"""Group commit: no caller returns before a sync that began after its write completed."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest

from expunge.core.groupsync import FolderSyncs, GroupSync


class Medium:
    """What a sync makes durable, as a counter: ``written`` steps so far, ``durable`` the
    number written before the last completed flush began (a flush stands in for the
    device, whose timing is what the grouping depends on)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.lock = threading.Lock()
        self.written = 0
        self.durable = 0
        self.flushes = 0
        self.fail_first = fail_first

    def write(self) -> int:
        with self.lock:
            self.written += 1
            return self.written

    def flush(self) -> None:
        with self.lock:
            began_with = self.written
            self.flushes += 1
            failing = self.flushes <= self.fail_first
        time.sleep(0.002)
        if failing:
            raise OSError(5, "Input/output error")
        with self.lock:
            self.durable = max(self.durable, began_with)


def _hammer(medium: Medium, group: GroupSync, threads: int, steps: int) -> list[str]:
    broken: list[str] = []
    start = threading.Barrier(threads)

    def worker() -> None:
        start.wait()
        for _ in range(steps):
            time.sleep(random.random() * 0.003)  # so that steps land during flushes too
            mine = medium.write()
            try:
                group.sync(medium.flush)
            except OSError:
                continue  # told it failed: no durability claimed
            if medium.durable < mine:
                broken.append(f"step {mine} returned with only {medium.durable} durable")

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return broken


def test_every_caller_returns_only_once_its_step_is_durable_and_syncs_are_shared() -> None:
    medium = Medium()
    assert _hammer(medium, GroupSync(), threads=6, steps=60) == []
    assert medium.written == 360
    assert medium.flushes < 360 * 0.75, "callers that waited were not covered by one sync"


def test_a_failed_sync_covers_nobody() -> None:
    """The callers waiting on a sync that failed run their own: none returns as if it had
    succeeded, and the one whose call ran it is told."""
    medium = Medium(fail_first=5)
    assert _hammer(medium, GroupSync(), threads=4, steps=40) == []
    assert medium.flushes > 5


def test_a_lone_caller_syncs_every_time() -> None:
    medium = Medium()
    group = GroupSync()
    for _ in range(5):
        medium.write()
        group.sync(medium.flush)
    assert (medium.flushes, medium.durable) == (5, 5)


def test_folders_are_grouped_by_inode_and_forgotten_when_idle(tmp_path: Path) -> None:
    """Descriptors of one folder share a group (real fsync of real folders); no group
    outlives the calls syncing through it."""
    syncs = FolderSyncs()
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    fds = [os.open(f, os.O_RDONLY | os.O_DIRECTORY) for f in folders * 3]
    try:
        errors: list[BaseException] = []

        def worker(fd: int) -> None:
            try:
                for n in range(20):
                    (Path(f"/proc/self/fd/{fd}") / f"{threading.get_ident()}-{n}").touch()
                    syncs.sync(fd)
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)

        pool = [threading.Thread(target=worker, args=(fd,)) for fd in fds]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        assert errors == []
        assert syncs._folders == {}
        assert sum(len(os.listdir(f)) for f in folders) == 6 * 20
    finally:
        for fd in fds:
            os.close(fd)


def test_a_folder_sync_error_reaches_the_caller(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    os.close(fd)
    with pytest.raises(OSError):
        FolderSyncs().sync(fd)
