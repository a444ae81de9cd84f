"""Mounts inside and under a target: bind mounts are never followed, FUSE servers that
cannot be identified are unsupported; each refusal before the first byte is written."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from expunge.core.errors import EXIT_REFUSED, EXIT_TARGET
from tests.support import Result, needs_root, run_cli
from tests.support.faults import FaultyImage
from tests.support.records import one_line_error

pytestmark = [needs_root, pytest.mark.root]

SECRET = b"outside the tree: must survive\n" * 200


def snapshot(*roots: Path) -> dict[Path, str]:
    """Every file under ``roots`` with the SHA-256 of its content."""
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for root in roots
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@contextmanager
def bind(source: Path, where: Path) -> Iterator[None]:
    """``mount --bind source where`` (both ours), unmounted on the way out."""
    subprocess.run(["mount", "--bind", str(source), str(where)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", str(where)], check=True)


def one_line(result: Result, code: int, *needles: str) -> None:
    """One line on stderr, with its exit code, saying each of ``needles``."""
    line = one_line_error(result, code)
    assert all(needle in line for needle in needles), (needles, line)


@pytest.fixture
def scene(tmp_path: Path) -> tuple[Path, Path]:
    """``outside/`` with secrets, and ``tree/`` with a file and an empty ``sub/``."""
    outside, tree = tmp_path / "outside", tmp_path / "tree"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    (outside / "deeper").mkdir()
    (outside / "deeper" / "more.txt").write_bytes(SECRET)
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_bytes(b"in the tree\n" * 100)
    return outside, tree


def test_a_bind_mounted_folder_inside_the_tree_is_refused(
    scene: tuple[Path, Path], cli_home: Path
) -> None:
    outside, tree = scene
    before = snapshot(outside, tree)
    with bind(outside, tree / "sub"):
        result = run_cli("shred", "-r", tree, home=cli_home)
        one_line(result, EXIT_REFUSED, str(tree / "sub"), "mount point", "--cross-filesystems")
        assert snapshot(outside, tree) == {**before, **snapshot(tree)}
    assert snapshot(outside, tree) == before


def test_a_bind_mounted_file_is_refused_in_a_tree_and_by_name(
    scene: tuple[Path, Path], cli_home: Path
) -> None:
    outside, tree = scene
    shown = tree / "shown.txt"
    shown.write_bytes(b"")
    before = snapshot(outside)
    with bind(outside / "secret.txt", shown):
        in_tree = run_cli("shred", "-r", tree, home=cli_home)
        one_line(in_tree, EXIT_REFUSED, str(shown), "bind-mounted", "umount")
        named = run_cli("shred", shown, home=cli_home)
        one_line(named, EXIT_REFUSED, str(shown), "bind-mounted")
        assert shown.read_bytes() == SECRET
    assert snapshot(outside) == before
    assert (tree / "a.txt").exists()


def test_a_bind_mount_named_as_the_tree_is_refused(
    scene: tuple[Path, Path], cli_home: Path
) -> None:
    outside, tree = scene
    before = snapshot(outside)
    with bind(outside, tree / "sub"):
        result = run_cli("shred", "-r", tree / "sub", home=cli_home)
        one_line(result, EXIT_REFUSED, "is a mount point")
    assert snapshot(outside) == before


def test_a_fuse_server_that_cannot_be_identified_is_unsupported(
    faulty_image: Callable[[int], FaultyImage], cli_home: Path
) -> None:
    image = faulty_image(1 << 20)
    refused = run_cli("shred", image.path, home=cli_home)
    one_line(refused, EXIT_TARGET, str(image.path), "FUSE", "--accept-limitations")
    assert image.backing.read_bytes() == image.original
    accepted = run_cli(
        "shred", "--keep", "--accept-limitations", "--json", image.path, home=cli_home
    )
    assert accepted.code == 0, accepted.err
    assert '"code": "unsupported-filesystem"' in accepted.out
    assert image.backing.read_bytes() != image.original
