"""Forensics on real filesystem images: after expunge, the raw image holds no canary.

Each file is filled with unique canary strings, shredded through the CLI, the filesystem
unmounted, and the raw image scanned. A control file removed with plain ``rm`` is found by
the same scan, so the test can fail. Each filesystem's behaviour, refusals included, is in the
forensic matrix (tests/integration/forensics/).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support import MountedImage, count_in_file, needs_root, run_cli, unmount

pytestmark = needs_root


def canary(name: str) -> bytes:
    return f"CANARY-{name}-{os.urandom(6).hex()}|".encode()


def fill(path: Path, marker: bytes, size: int) -> None:
    path.write_bytes((marker * (size // len(marker) + 1))[:size])


def make_sparse(path: Path, marker: bytes) -> None:
    """Data islands at 0, 1 MiB and 3 MiB of a 4 MiB file; the rest are holes."""
    with open(path, "wb") as f:
        f.truncate(4 << 20)
        for offset in (0, 1 << 20, 3 << 20):
            f.seek(offset)
            f.write(marker * 100)


def populate(image: MountedImage) -> dict[str, bytes]:
    root = image.mount
    markers = {n: canary(n) for n in ("plain", "sparse", "tiny", "nested1", "nested2", "control")}
    fill(root / "plain.doc", markers["plain"], 3 << 20)
    make_sparse(root / "sparse.img", markers["sparse"])
    (root / "tiny.txt").write_bytes(markers["tiny"])
    (root / "folder" / "deeper").mkdir(parents=True)
    fill(root / "folder" / "one.txt", markers["nested1"], 200_000)
    fill(root / "folder" / "deeper" / "two.txt", markers["nested2"], 5000)
    fill(root / "control.txt", markers["control"], 100_000)
    subprocess.run(["sync"], check=True)
    return markers


def test_ext4_nothing_recoverable_after_shred(ext4_image: MountedImage, cli_home: Path) -> None:
    markers = populate(ext4_image)
    root = ext4_image.mount
    before = count_in_file(ext4_image.image, list(markers.values()))
    assert all(count > 0 for count in before.values()), before

    result = run_cli(
        "shred", root / "plain.doc", root / "sparse.img", root / "tiny.txt", home=cli_home
    )
    assert result.code == 0, result
    result = run_cli("shred", "-r", root / "folder", home=cli_home)
    assert result.code == 0, result
    (root / "control.txt").unlink()
    assert sorted(p.name for p in root.iterdir()) == ["lost+found"]

    unmount(ext4_image)
    after = count_in_file(ext4_image.image, list(markers.values()))
    control = after.pop(markers["control"])
    assert after == {m: 0 for m in after}, after
    assert control > 0, "plain rm leaves the data: the scan must find it"
