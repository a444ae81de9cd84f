"""Helpers for the free-space tests: FAT32 images mounted through fusefat (this kernel
has no vfat), and files full of unique canaries removed with a plain unlink.

Every image lives under the test's tmp_path and is unmounted in teardown.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import MountedImage


def canary(tag: str) -> bytes:
    """A content canary no other test writes."""
    return f"FREESPACE-CANARY-{tag}-{os.urandom(4).hex()}|".encode()


def long_name(tag: str) -> str:
    """A long file name whose first 5 characters are unique: a long-name entry stores
    characters 1-5 of its 13 contiguously (UTF-16LE), where a raw scan finds them."""
    return f"{os.urandom(3).hex()[:5]}-{tag}-confidential board minutes.docx"


def utf16(name: str) -> bytes:
    """The first five characters of ``name`` as a FAT long-name entry stores them."""
    return name[:5].encode("utf-16-le")


def write_and_remove(root: Path, files: dict[str, bytes], size: int) -> None:
    """Create each file (relative path -> canary) with ``size`` bytes, sync, then ``rm``."""
    for rel, marker in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((marker * (size // len(marker) + 1))[:size])
    os.sync()
    for rel in files:
        (root / rel).unlink()
    os.sync()


def counts(image: Path, needles: list[bytes]) -> dict[bytes, int]:
    """How often each needle occurs in the raw image."""
    data = image.read_bytes()
    return {n: data.count(n) for n in needles}


@contextmanager
def fat32_image(folder: Path, size: int = 34 << 20) -> Iterator[MountedImage]:
    """A FAT32 image made with mkfs.vfat, mounted read-write through fusefat."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount FUSE filesystems")
    for tool in ("mkfs.vfat", "fusefat", "fusermount"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (.ci/run installs dosfstools and fusefat)")
    image, mount = folder / "fat32.img", folder / "fat32-mnt"
    mount.mkdir()
    with open(image, "wb") as f:
        f.truncate(size)
    subprocess.run(["mkfs.vfat", "-F", "32", str(image)], check=True, capture_output=True)
    subprocess.run(
        ["fusefat", "-o", "rw+", str(image), str(mount)], check=True, capture_output=True
    )
    try:
        yield MountedImage(image, mount)
    finally:
        unmount_fuse(mount)


def unmount_fuse(mount: Path) -> None:
    """Unmount a fusefat mount of ours; fusefat writes the image out as it exits."""
    if os.path.ismount(mount):
        subprocess.run(["fusermount", "-u", str(mount)], check=False)
        for _ in range(100):
            if not os.path.ismount(mount):
                break
            time.sleep(0.05)
