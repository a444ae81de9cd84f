"""ext4's reserved clusters, released for the fill.

Besides the blocks reserved for root, ext4 holds back a pool of clusters (2% of the
filesystem, at most 4096) that no ordinary write may take, so that delayed allocation
never runs out of room for metadata. Those free blocks keep old data like any other. As
root, the pool is set to zero (``/sys/fs/ext4/DEV/reserved_clusters``) while the first
pass fills the filesystem, and restored afterwards; if expunge is killed meanwhile, the
next mount restores it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from expunge.workflows.fill.target import FillTarget

SYS_EXT4 = Path("/sys/fs/ext4")


def reserve_file(target: FillTarget, sys_ext4: Path = SYS_EXT4) -> Path | None:
    """The sysfs file of the filesystem's reserved clusters (ext4 only), if present."""
    if target.kind != "ext4" or not target.source.startswith("/dev/"):
        return None
    path = sys_ext4 / Path(os.path.realpath(target.source)).name / "reserved_clusters"
    return path if path.exists() else None


def held_back(target: FillTarget, sys_ext4: Path = SYS_EXT4) -> int:
    """Bytes of reserved clusters ext4 keeps from ordinary writes (0 where none)."""
    path = reserve_file(target, sys_ext4)
    if path is None:
        return 0
    try:
        return int(path.read_text()) * target.block_size
    except (OSError, ValueError):
        return 0


@contextmanager
def released_reserve(target: FillTarget, sys_ext4: Path = SYS_EXT4) -> Iterator[bool]:
    """Within the block, ext4's reserved clusters can be written; yields whether they
    could be released (False: not ext4, not root, or the kernel refused)."""
    path = reserve_file(target, sys_ext4)
    if path is None:
        yield False
        return
    try:
        previous = path.read_text().strip()
        path.write_text("0")
    except OSError:
        yield False
        return
    try:
        yield True
    finally:
        path.write_text(previous)
