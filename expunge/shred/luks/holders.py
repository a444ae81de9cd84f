"""Whether a LUKS volume is open: dm-crypt, LVM or md holding it, directly or through a loop.

``open_holders`` decides from facts, and ``read_block_uses`` reads those facts from sysfs.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from expunge.core.blockdev import sysfs_holders
from expunge.core.errors import RefusedError


@dataclass(frozen=True)
class VolumeKey:
    """Which object a target is: a block device by ``st_rdev``, a file by device and inode."""

    kind: Literal["block", "file"]
    dev: int
    ino: int = 0

    @classmethod
    def from_stat(cls, st: os.stat_result) -> VolumeKey:
        """The key of a stat result."""
        if stat.S_ISBLK(st.st_mode):
            return cls("block", st.st_rdev)
        return cls("file", st.st_dev, st.st_ino)


@dataclass(frozen=True)
class BlockUse:
    """One block device as sysfs shows it: who holds it, and what backs a loop device."""

    name: str
    devnum: int
    holders: tuple[str, ...] = ()
    parent: int | None = None
    """For a partition, the ``st_rdev`` of its whole disk."""
    backing: VolumeKey | None = None
    """For a loop device, the file (or block device) behind it."""


def open_holders(target: VolumeKey, uses: Iterable[BlockUse]) -> tuple[str, ...]:
    """Who holds ``target`` open, as ``"dm-0"`` or ``"loop1 -> dm-0"``; empty when free.

    The target is held when it, one of its partitions, a loop device backed by it, or one
    of that loop device's partitions has holders (a dm-crypt mapping, LVM, md).
    """
    listed = tuple(uses)
    own = {target.dev} if target.kind == "block" else set()
    loops = {u.devnum for u in listed if u.backing == target}
    found: list[str] = []
    for use in listed:
        if use.devnum in own or use.parent in own:
            found.extend(use.holders)
        elif use.devnum in loops or use.parent in loops:
            found.extend(f"{use.name} -> {holder}" for holder in use.holders)
    return tuple(found)


def read_block_uses(sys_root: Path = Path("/sys")) -> tuple[BlockUse, ...]:
    """Every block device and partition under ``sys_root/class/block``, with its holders.

    A loop device's backing file is identified by ``stat`` of the path sysfs records
    (``loop/backing_file``); a deleted backing file cannot be the target, so it is skipped.
    """
    uses = []
    base = sys_root / "class" / "block"
    for entry in sorted(base.iterdir()) if base.is_dir() else ():
        devnum = _devnum(entry / "dev")
        if devnum is None:
            continue
        holders = sysfs_holders(entry)
        parent = _devnum(entry.resolve().parent / "dev") if (entry / "partition").exists() else None
        uses.append(BlockUse(entry.name, devnum, holders, parent, _loop_backing(entry)))
    return tuple(uses)


def _devnum(path: Path) -> int | None:
    try:
        major, minor = path.read_text().strip().split(":")
        return os.makedev(int(major), int(minor))
    except (OSError, ValueError):
        return None


def _loop_backing(entry: Path) -> VolumeKey | None:
    try:
        backing = (entry / "loop" / "backing_file").read_text().rstrip("\n")
    except OSError:
        return None
    if backing.endswith(" (deleted)"):
        return None
    try:
        return VolumeKey.from_stat(os.stat(backing))
    except OSError:
        return None


def refuse_if_open(fd: int, *, name: str, sys_root: Path = Path("/sys")) -> None:
    """Raise RefusedError when the volume open as ``fd`` is in use by a holder (dm-crypt)."""
    held = open_holders(VolumeKey.from_stat(os.fstat(fd)), read_block_uses(sys_root))
    if held:
        raise RefusedError(
            f"is an open volume (held by {', '.join(held)}); nothing was written",
            target=name,
            remedy="unmount and close it first (cryptsetup close NAME), then retry",
        )
