"""Real filesystem images for the forensic matrix, made, mounted and torn down here.

Each medium is a small image file under the test's tmp_path (a loop device for the FUSE
drivers that want a block device, attached through the ``loops`` fixture), mounted on a
folder of ours with the real kernel driver or the Debian FUSE program, and unmounted in
teardown, also on failure. ``Medium.unmount`` unmounts early so that the raw image can be
scanned.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import need_tool
from tests.support.drives import Loops

MiB = 1 << 20


@dataclass(frozen=True)
class Recipe:
    """How to make one medium: image size, mkfs command, and how it is mounted."""

    size: int
    mkfs: tuple[str, ...]
    mount: str = "kernel"  # kernel | fusefat | exfat-fuse | ntfs-3g | tmpfs
    options: str = ""
    tune: tuple[str, ...] = ()


RECIPES: dict[str, Recipe] = {
    "ext4": Recipe(32 * MiB, ("mkfs.ext4", "-q")),
    "ext4-data-journal-option": Recipe(32 * MiB, ("mkfs.ext4", "-q"), options="data=journal"),
    "ext4-data-journal-superblock": Recipe(
        32 * MiB, ("mkfs.ext4", "-q"), tune=("tune2fs", "-o", "journal_data")
    ),
    "ext4-inline-data": Recipe(32 * MiB, ("mkfs.ext4", "-q", "-O", "inline_data")),
    "ext2": Recipe(32 * MiB, ("mkfs.ext2", "-q")),
    # mkfs.xfs refuses images below 300 MiB; the file stays sparse (about 65 MiB used).
    "xfs": Recipe(300 * MiB, ("mkfs.xfs", "-q", "-m", "reflink=0")),
    "xfs-reflink": Recipe(300 * MiB, ("mkfs.xfs", "-q", "-m", "reflink=1")),
    "btrfs": Recipe(128 * MiB, ("mkfs.btrfs", "-q")),
    "tmpfs": Recipe(0, (), mount="tmpfs"),
    "fusefat": Recipe(40 * MiB, ("mkfs.vfat", "-F", "32"), mount="fusefat"),
    "exfat-fuse": Recipe(32 * MiB, ("mkfs.exfat",), mount="exfat-fuse"),
    "ntfs-3g": Recipe(32 * MiB, ("mkntfs", "-F", "-f", "-q"), mount="ntfs-3g"),
}
_PROGRAMS = {"fusefat": "fusefat", "exfat-fuse": "mount.exfat-fuse", "ntfs-3g": "ntfs-3g"}


@dataclass
class Medium:
    """A mounted image: ``root`` is the mount point, ``image`` the raw file (None for
    tmpfs, which has no medium to scan)."""

    kind: str
    root: Path
    image: Path | None

    def unmount(self) -> None:
        """Flush and unmount, so that the raw image holds everything written."""
        subprocess.run(["sync"], check=True)
        _umount(self.root)


def _umount(where: Path) -> None:
    for _ in range(50):
        if not os.path.ismount(where):
            return
        done = subprocess.run(["umount", str(where)], capture_output=True)
        if done.returncode == 0:
            return
        time.sleep(0.1)  # a FUSE server still finishing its last write
    raise AssertionError(f"cannot unmount {where}")


def _wait_mounted(where: Path) -> None:
    for _ in range(100):
        if os.path.ismount(where):
            return
        time.sleep(0.05)
    raise AssertionError(f"{where} did not appear as a mount")


@contextmanager
def make_medium(folder: Path, kind: str, loops: Loops) -> Iterator[Medium]:
    """Make, mount and yield one medium of ``kind``; unmounted on the way out."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount filesystem images")
    recipe = RECIPES[kind]
    root = folder / f"{kind}-mnt"
    root.mkdir()
    if recipe.mount == "tmpfs":
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(root)], check=True)
        try:
            yield Medium(kind, root, None)
        finally:
            _umount(root)
        return
    need_tool(recipe.mkfs[0])
    image = folder / f"{kind}.img"
    with open(image, "wb") as f:
        f.truncate(recipe.size)
    subprocess.run([*recipe.mkfs, str(image)], check=True, capture_output=True)
    if recipe.tune:
        subprocess.run([*recipe.tune, str(image)], check=True, capture_output=True)
    if recipe.mount == "kernel":
        options = "loop" + (f",{recipe.options}" if recipe.options else "")
        subprocess.run(["mount", "-o", options, str(image), str(root)], check=True)
    else:
        program = need_tool(_PROGRAMS[recipe.mount])
        source = loops.attach(image) if recipe.mount == "exfat-fuse" else str(image)
        args = [program, "-o", "rw+", source] if recipe.mount == "fusefat" else [program, source]
        subprocess.run([*args, str(root)], check=True, capture_output=True)
        _wait_mounted(root)
    try:
        yield Medium(kind, root, image)
    finally:
        _umount(root)


@pytest.fixture
def medium(tmp_path: Path, loops: Loops) -> Iterator[Callable[[str], Medium]]:
    """A factory: ``medium(kind)`` makes and mounts one medium (see ``RECIPES``)."""
    with ExitStack() as stack:

        def make(kind: str) -> Medium:
            folder = tmp_path / kind
            folder.mkdir()
            return stack.enter_context(make_medium(folder, kind, loops))

        yield make
