"""Fixtures for verification tests: a directory on a real disk, writers, corrupters, loops."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def _fs_type(path: Path) -> str:
    """The filesystem type of the mount holding ``path`` (from /proc/self/mounts)."""
    best, kind = "", ""
    target = str(path.resolve())
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            fields = line.split()
            point = fields[1].replace("\\040", " ")
            inside = target == point or target.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, kind = point, fields[2]
    return kind


@contextlib.contextmanager
def _on_disk(candidate: Path) -> Iterator[Path]:
    if _fs_type(candidate) not in ("tmpfs", "ramfs"):
        yield candidate
        return
    path = Path(tempfile.mkdtemp(prefix="expunge-verify-", dir="/var/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def disk_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory on a real disk (O_DIRECT reaches the media), not on tmpfs."""
    with _on_disk(tmp_path) as path:
        yield path


@pytest.fixture(scope="module")
def module_disk_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``disk_dir`` shared by the tests of one module."""
    with _on_disk(tmp_path_factory.mktemp("verify")) as path:
        yield path


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def loop_attach() -> Iterator[Callable[[Path], str]]:
    """Attach loop devices to backing files (root only); every one is detached in teardown."""
    if os.geteuid() != 0:
        pytest.skip("loop devices need root")
    if shutil.which("losetup") is None:
        pytest.skip("losetup is not installed")
    attached: list[str] = []

    def attach(backing: Path) -> str:
        try:
            device = _run("losetup", "--find", "--show", str(backing))
        except (subprocess.CalledProcessError, OSError) as exc:
            pytest.skip(f"cannot attach a loop device: {exc}")
        attached.append(device)
        return device

    try:
        yield attach
    finally:
        for device in reversed(attached):
            subprocess.run(["losetup", "--detach", device], check=False, capture_output=True)


@pytest.fixture(params=["aio", "threads"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with each read engine: native AIO (the default for O_DIRECT) and threads."""
    from expunge.verify.readback import engine as read_engine

    monkeypatch.setattr(read_engine, "_AIO_ENABLED", request.param == "aio")
    return str(request.param)
