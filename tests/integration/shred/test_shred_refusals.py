"""Every refusal: one clear line naming the target and remedy, its exit code, nothing changed."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from expunge.core.errors import EXIT_REFUSED, EXIT_TARGET, EXIT_USAGE
from expunge.shred import files, folders
from expunge.shred.files import FileOptions
from tests.support import Result, mounted_image, need_tool, needs_root, run_cli

SECRET = b"TOP SECRET canary 8f1e2d\n" * 100


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_one_clear_line(result: Result, code: int, *needles: str) -> None:
    assert result.code == code, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_bytes(SECRET)
    return path


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert_one_clear_line(run_cli("shred", missing), EXIT_TARGET, str(missing), "no such file")


def test_symlink_names_where_it_points_and_changes_nothing(tmp_path: Path, secret: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(secret)
    before = digest(secret)
    result = run_cli("shred", link)
    assert_one_clear_line(result, EXIT_TARGET, str(link), str(secret), "name the file")
    assert link.is_symlink() and digest(secret) == before


def test_fifo_socket_and_device_node_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        assert_one_clear_line(run_cli("shred", fifo), EXIT_TARGET, "FIFO", "no stored data")
        assert_one_clear_line(run_cli("shred", sock_path), EXIT_TARGET, "socket")
    finally:
        sock.close()
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    if os.geteuid() == 0:
        # A node for the null device (1:3), made here: the refusal must not even open it.
        node = tmp_path / "nullnode"
        os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 3))
        assert_one_clear_line(run_cli("shred", node), EXIT_TARGET, "device node", "drive wipe")
        assert stat.S_ISCHR(node.lstat().st_mode)


def test_directory_without_recursive(tmp_path: Path, secret: Path) -> None:
    assert_one_clear_line(run_cli("shred", tmp_path), EXIT_TARGET, "is a directory", "-r")
    assert secret.read_bytes() == SECRET


def test_hard_link_refused_then_allowed_and_recorded(tmp_path: Path, secret: Path) -> None:
    other = tmp_path / "other-name"
    os.link(secret, other)
    result = run_cli("shred", secret, "--verify", "none")
    assert_one_clear_line(result, EXIT_REFUSED, str(secret), "--allow-hardlinks")
    assert secret.read_bytes() == SECRET and other.read_bytes() == SECRET
    result = run_cli("shred", secret, "--allow-hardlinks", "--verify", "none")
    assert result.code == 0, result
    assert "other name(s) of this file persist" in result.out
    assert not secret.exists()
    assert other.read_bytes() != SECRET and len(other.read_bytes()) == 0


def test_file_open_in_another_process(tmp_path: Path, secret: Path) -> None:
    holder = subprocess.Popen(["sleep", "60"], stdin=open(secret, "rb"))  # noqa: SIM115
    try:
        result = run_cli("shred", secret)
        assert_one_clear_line(result, EXIT_REFUSED, "open in another process", "--force")
        assert secret.read_bytes() == SECRET
        assert run_cli("shred", secret, "--force", "--verify", "none").code == 0
        assert not secret.exists()
    finally:
        holder.kill()
        holder.wait()


@needs_root
def test_immutable_file_is_named_as_such(tmp_path: Path, secret: Path) -> None:
    # Root bypasses file modes; the immutable attribute denies even root (EPERM), and the
    # line says so rather than "run as root".
    chattr = need_tool("chattr")
    subprocess.run([chattr, "+i", str(secret)], check=True)
    try:
        result = run_cli("shred", secret)
        assert_one_clear_line(result, EXIT_TARGET, str(secret), "immutable", "chattr -i")
    finally:
        subprocess.run([chattr, "-i", str(secret)], check=True)
    assert secret.read_bytes() == SECRET


@needs_root
def test_read_only_filesystem(tmp_path: Path) -> None:
    with mounted_image(tmp_path, "ext4") as image:
        (image.mount / "doc").write_bytes(SECRET)
        subprocess.run(["mount", "-o", "remount,ro", str(image.mount)], check=True)
        result = run_cli("shred", image.mount / "doc")
        assert_one_clear_line(result, EXIT_TARGET, "read-only", "remount")
        assert (image.mount / "doc").read_bytes() == SECRET


def test_unknown_method_and_bad_passes(secret: Path) -> None:
    assert_one_clear_line(run_cli("shred", "-m", "nope", secret), EXIT_USAGE, "unknown method")
    assert_one_clear_line(run_cli("shred", "--passes", "00,xyz", secret), EXIT_USAGE, "--passes")
    assert_one_clear_line(run_cli("shred", "--bogus", secret), EXIT_USAGE, "--bogus")
    assert secret.read_bytes() == SECRET


def test_one_refused_target_means_nothing_is_written(tmp_path: Path, secret: Path) -> None:
    fine = tmp_path / "fine.txt"
    fine.write_bytes(SECRET)
    result = run_cli("shred", fine, tmp_path / "missing")
    assert result.code == EXIT_TARGET
    assert fine.read_bytes() == SECRET and secret.read_bytes() == SECRET


def test_root_and_mount_points_are_refused_by_identity(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="root directory"):
        folders.open_tree("/", FileOptions())
    with pytest.raises(Exception, match="mount point"):
        folders.open_tree("/proc", FileOptions())


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(SECRET)
    (root / "sub" / "b.txt").write_bytes(SECRET)
    yield root


def test_directory_swapped_for_symlink_during_walk_is_not_followed(
    tmp_path: Path, tree: Path
) -> None:
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    (sentinel / "keep.txt").write_bytes(SECRET)
    parent_fd, dir_fd, _ = folders.open_tree(str(tree), FileOptions())
    seen: list[str] = []
    try:
        walk = folders.walk_tree(dir_fd, str(tree), FileOptions())
        first = next(walk)
        seen.append(first.name)
        # Between two steps of the walk, the subdirectory becomes a link to the sentinel.
        (tree / "sub").rename(tmp_path / "moved-away")
        (tree / "sub").symlink_to(sentinel)
        for entry in walk:
            seen.append(entry.name)
            if entry.kind == "other":
                files.remove_other(entry.dir_fd, entry.name)
    finally:
        os.close(dir_fd)
        os.close(parent_fd)
    assert (sentinel / "keep.txt").read_bytes() == SECRET
    assert "keep.txt" not in seen
