"""Helpers for the whole-drive wipe tests: loop devices of our own, canaries, certificates.

Safety: every loop device is attached here to an image under the test's tmp_path; a node
is only handed to expunge, detached or re-attached while sysfs says it is backed by one of
our images. Teardown unmounts and detaches everything, also when the test fails.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from expunge.certificates import Certificate, read_envelope
from expunge.drives import find_drive
from tests.support import Result

MIB = 1 << 20
CANARY = b"CANARY-drive-wipe-secret:"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to attach loop devices")


def canary_image(path: Path, size: int, *, tag: bytes = b"") -> None:
    """``size`` bytes made of canary strings (with ``tag``), so that survivors can be counted."""
    unit = CANARY + tag + b"|"
    block = (unit * (MIB // len(unit) + 1))[:MIB]
    with path.open("wb") as out:
        for _ in range(size // MIB):
            out.write(block)
        out.write(block[: size % MIB])


def digest(path: Path) -> str:
    """SHA-256 of a whole file."""
    hasher = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(4 * MIB):
            hasher.update(chunk)
    return hasher.hexdigest()


def token(node: str) -> str:
    """The identity token of ``node`` as expunge lists it."""
    return find_drive(node).identity_token


def backing_file(node: str) -> Path | None:
    """The file behind loop device ``node``, or None."""
    try:
        text = Path(f"/sys/block/{Path(node).name}/loop/backing_file").read_text().strip()
    except OSError:
        return None
    return Path(text)


def run_expunge(*args: str | os.PathLike[str], home: Path, timeout: float = 300) -> Result:
    """``python -m expunge ARGS`` with no terminal on stdin (as from a script or a timer)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
    env["EXPUNGE_HOME"] = str(home)
    proc = subprocess.run(
        [sys.executable, "-m", "expunge", *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def certificate(path: Path) -> Certificate:
    """The certificate in an envelope file (signature not checked: see ``cert verify``)."""
    return Certificate.from_json(read_envelope(path).payload)


class Loops:
    """Loop devices attached to our images; teardown unmounts and detaches them."""

    def __init__(self) -> None:
        self.images: set[Path] = set()
        self.nodes: set[str] = set()
        self.mounts: list[Path] = []

    def attach(self, image: Path, partitions: list[tuple[int, int]] | None = None) -> str:
        """Attach ``image`` to a free loop device; ``partitions`` (first sector, sectors)
        are added with ``addpart``: this kernel parses no partition tables."""
        self.images.add(image.resolve())
        scan = ["-P"] if partitions else []
        node = subprocess.run(
            ["losetup", "-f", "--show", *scan, str(image)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        self.nodes.add(node)
        assert self.owned(node)
        for number, (first, count) in enumerate(partitions or [], start=1):
            if not Path(f"/sys/block/{Path(node).name}/{Path(node).name}p{number}").exists():
                subprocess.run(["addpart", node, str(number), str(first), str(count)], check=True)
        return node

    def reattach(self, node: str, image: Path) -> bool:
        """Attach ``image`` to the free ``node``; False when another process took it first."""
        self.images.add(image.resolve())
        done = subprocess.run(["losetup", node, str(image)], capture_output=True)
        return done.returncode == 0 and self.owned(node)

    def detach(self, node: str) -> None:
        """Detach ``node`` if it is still backed by one of our images."""
        if self.owned(node):
            subprocess.run(["losetup", "-d", node], check=True)

    def owned(self, node: str) -> bool:
        """True while ``node`` is backed by an image attached here."""
        backing = backing_file(node)
        return backing is not None and backing in self.images

    def mount(self, device: str, where: Path) -> None:
        """Mount ``device`` (ours) at ``where`` until teardown."""
        where.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", device, str(where)], check=True)
        self.mounts.append(where)

    def cleanup(self) -> None:
        """Unmount, then detach every node still backed by our images."""
        for where in reversed(self.mounts):
            subprocess.run(["umount", str(where)], check=False)
        for node in sorted(self.nodes):
            if self.owned(node):
                subprocess.run(["losetup", "-d", node], check=False)
