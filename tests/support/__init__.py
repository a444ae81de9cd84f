"""Test support: the CLI as a subprocess, loop devices and filesystem images we create.

Every loop device is attached here, to a file under the test's own temporary folder, and
detached in teardown, also when the test fails. Nothing else is ever written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: attaches loop devices and mounts images"
)


def need_tool(name: str) -> str:
    """The path of a command-line tool, or skip the test saying which package provides it."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (.ci/run installs it)")
    return path


@dataclass(frozen=True)
class Result:
    """A finished CLI run."""

    code: int
    out: str
    err: str


def run_cli(
    *args: str | os.PathLike[str],
    home: Path | None = None,
    timeout: float = 600,
    **kwargs: object,
) -> Result:
    """Run ``python -m expunge ARGS`` as a script would, and capture what a user would see.

    No terminal on stdin (unless the caller passes ``stdin``/``input``) and no ``EXPUNGE_*``
    setting inherited from the environment running the tests.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
    if home is not None:
        env["EXPUNGE_HOME"] = str(home)
    if "stdin" not in kwargs and "input" not in kwargs:
        kwargs["stdin"] = subprocess.DEVNULL
    proc = subprocess.run(
        [sys.executable, "-m", "expunge", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        **kwargs,  # type: ignore[call-overload]
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_state_left(home: Path) -> list[str]:
    """The run logs and wipe journals left in ``home`` (``runs/NAME``, ``journal/NAME``):
    none once every run has ended with its record."""
    return [
        f"{folder}/{p.name}"
        for folder in ("runs", "journal")
        if (home / folder).is_dir()
        for p in (home / folder).iterdir()
    ]


def files_started(home: Path) -> int:
    """How many files the live runs of ``home`` have started overwriting (their ``file``
    steps, synced before each file's first write; a new wipe's journal is in that line)."""
    folder = home / "runs"
    logs = folder.glob("*.log") if folder.is_dir() else ()
    started = 0
    for log in logs:
        with suppress(FileNotFoundError):
            started += log.read_bytes().count(b'"type":"file"')
    return started


def attach_loop(image: Path, *extra: str) -> str:
    """Attach ``image`` (a file we created) to a free loop device; return its node."""
    out = subprocess.run(
        ["losetup", "-f", "--show", *extra, str(image)], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def detach_loop(node: str) -> None:
    """Detach a loop device we attached."""
    subprocess.run(["losetup", "-d", node], check=False, capture_output=True)


@dataclass(frozen=True)
class MountedImage:
    """A filesystem image file mounted on a folder of ours."""

    image: Path
    mount: Path


@contextmanager
def mounted_image(
    folder: Path, fstype: str, size: int = 64 << 20, options: str = ""
) -> Iterator[MountedImage]:
    """Make a ``fstype`` filesystem in a file under ``folder`` and mount it with ``-o loop``.

    Unmounted in teardown; ``mount -o loop`` detaches its loop device on unmount.
    """
    if os.geteuid() != 0:
        pytest.skip("needs root to mount filesystem images")
    mkfs = need_tool(f"mkfs.{fstype}")
    image = folder / f"{fstype}.img"
    mount = folder / f"{fstype}-mnt"
    mount.mkdir()
    with open(image, "wb") as f:
        f.truncate(size)
    quiet = ["-q"] if fstype in ("ext4", "btrfs") else []
    subprocess.run([mkfs, *quiet, str(image)], check=True, capture_output=True)
    opts = "loop" + (f",{options}" if options else "")
    subprocess.run(["mount", "-o", opts, str(image), str(mount)], check=True)
    try:
        yield MountedImage(image, mount)
    finally:
        if os.path.ismount(mount):
            subprocess.run(["umount", str(mount)], check=False)


def unmount(target: MountedImage) -> None:
    """Unmount early (to scan the raw image); teardown's umount then finds nothing."""
    subprocess.run(["sync"], check=True)
    subprocess.run(["umount", str(target.mount)], check=True)


def count_in_file(path: Path, needles: list[bytes]) -> dict[bytes, int]:
    """How often each needle occurs in a (raw image) file."""
    data = path.read_bytes()
    return {n: data.count(n) for n in needles}
