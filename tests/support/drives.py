"""Helpers for the drive tests: drive facts to build, and loop devices to attach.

Safety: a node is only ever detached, opened or written when sysfs says it is backed by
a file this fixture attached; every image lives under pytest's tmp_path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from expunge.drives import Drive, Partition

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("losetup") is None,
    reason="needs root and losetup to attach loop devices",
)


def make_drive(**overrides: object) -> Drive:
    """Facts of a plain USB stick, with ``overrides`` applied."""
    facts: dict[str, object] = {
        "node": "/dev/sdx",
        "name": "sdx",
        "devnum": "8:96",
        "size": 8 * 2**30,
        "bus": "usb",
        "removable": True,
        "vendor": "Acme",
        "model": "Stick",
        "serial": "AC0001",
        "diskseq": 41,
    }
    facts.update(overrides)
    return Drive(**facts)  # type: ignore[arg-type]


def make_partition(n: int, **overrides: object) -> Partition:
    """Facts of partition ``n`` of the default stick."""
    facts: dict[str, object] = {
        "node": f"/dev/sdx{n}",
        "name": f"sdx{n}",
        "devnum": f"8:{96 + n}",
        "size": 2**30,
    }
    facts.update(overrides)
    return Partition(**facts)  # type: ignore[arg-type]


def file_digest(path: Path) -> str:
    """SHA-256 of a whole file (a backing image)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def backing_file(node: str) -> Path | None:
    """The file behind loop device ``node``, or None when it has none."""
    name = Path(node).name
    try:
        text = Path(f"/sys/block/{name}/loop/backing_file").read_text().strip()
    except OSError:
        return None
    return Path(text)


def write_image(path: Path, size: int, *, seed: bytes = b"image") -> None:
    """A file of ``size`` bytes of recognizable, non-zero content."""
    block = hashlib.sha256(seed).digest() * (65536 // 32)
    with path.open("wb") as out:
        for _ in range(size // len(block)):
            out.write(block)


def write_mbr(path: Path, partitions: list[tuple[int, int, int]]) -> None:
    """An MBR partition table: ``(first_sector, sectors, type)`` per primary partition.

    Written by hand so the tests need neither sfdisk nor parted.
    """
    table = bytearray(512)
    for i, (first, count, kind) in enumerate(partitions):
        entry = bytearray(16)
        entry[4] = kind
        entry[8:12] = first.to_bytes(4, "little")
        entry[12:16] = count.to_bytes(4, "little")
        table[446 + 16 * i : 462 + 16 * i] = entry
    table[510:512] = b"\x55\xaa"
    with path.open("r+b") as out:
        out.write(table)


class Loops:
    """Attach images to loop devices; teardown unmounts, swaps off and detaches them."""

    def __init__(self) -> None:
        self.files: set[Path] = set()
        self.attached: list[str] = []
        self.mounts: list[Path] = []
        self.swaps: list[str] = []

    def attach(
        self,
        image: Path,
        *,
        partitions: list[tuple[int, int]] | None = None,
        read_only: bool = False,
        offset: int = 0,
        size_limit: int = 0,
    ) -> str:
        """Attach ``image`` to a free loop device; returns its node.

        ``image`` may be one of our own loop devices (a stacked loop); ``offset`` skips the
        first bytes of it (``losetup -o``); ``size_limit`` exposes only that many bytes
        (``losetup --sizelimit``).

        ``partitions`` (first sector, sectors) come from the image's partition table when
        the kernel can read one, else they are added with BLKPG (``addpart``): some
        minimal kernels are built without any partition table parser.
        """
        self.files.add(image.resolve())
        args = ["losetup", "-f", "--show"]
        args += (["-P"] if partitions else []) + (["-r"] if read_only else [])
        args += [f"--offset={offset}"] if offset else []
        args += ([f"--sizelimit={size_limit}"] if size_limit else []) + [str(image)]
        node = subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()
        self.attached.append(node)
        assert self.owned(node)
        for number, (first, count) in enumerate(partitions or [], start=1):
            if not Path(f"/sys/block/{Path(node).name}/{Path(node).name}p{number}").exists():
                subprocess.run(["addpart", node, str(number), str(first), str(count)], check=True)
        return node

    def reattach(self, node: str, image: Path) -> bool:
        """Attach ``image`` to the given (free) ``node``; False when someone took it first."""
        self.files.add(image.resolve())
        done = subprocess.run(["losetup", node, str(image)], capture_output=True)
        return done.returncode == 0 and self.owned(node)

    def detach(self, node: str) -> None:
        """Detach ``node`` if it is still backed by one of our images."""
        if self.owned(node):
            subprocess.run(["losetup", "-d", node], check=True)

    def owned(self, node: str) -> bool:
        """True when ``node`` is backed by an image this fixture attached."""
        backing = backing_file(node)
        return backing is not None and backing in self.files

    def mount(self, device: str, where: Path) -> None:
        """Mount ``device`` (one of ours) at ``where``."""
        where.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", device, str(where)], check=True)
        self.mounts.append(where)

    def swapon(self, device: str) -> None:
        """Use ``device`` (one of ours) as swap until teardown."""
        subprocess.run(["mkswap", device], check=True, capture_output=True)
        subprocess.run(["swapon", device], check=True)
        self.swaps.append(device)

    def cleanup(self) -> None:
        for device in reversed(self.swaps):
            subprocess.run(["swapoff", device], check=False)
        for where in reversed(self.mounts):
            subprocess.run(["umount", str(where)], check=False)
        # Stacked loops first: the last attached may be backed by an earlier one.
        for node in reversed(self.attached):
            if self.owned(node):
                subprocess.run(["losetup", "-d", node], check=False)
