"""Helpers for fault tests: a faulty image served by ``faultfs.py``, and byte comparisons.

``serve_faulty_image`` starts the FUSE filesystem as a separate process on a folder under
the test's own temporary directory and always tears it down: loop devices attached to the
served file are detached first, then the mount is unmounted, then the process (ours, by its
PID) is stopped. Nothing outside the temporary directory is ever written.
"""

from __future__ import annotations

import ctypes.util
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from expunge.shred.overwrite import PassOptions
from expunge.shred.patterns import PassPattern, expected_bytes
from expunge.shred.report import ByteRange
from tests.support import attach_loop, detach_loop

FAULTFS = Path(__file__).with_name("faultfs.py")
MiB = 1 << 20
LOOP_MAX_KB = 64

# The engine change proposed with the journal (issue 9): periodic checkpoints
# (``PassOptions.checkpoint_bytes``) and ``on_durable(pass, offset, unwritten)``. Tests that
# drive the journal through the engine's own callback skip until it is in.
ENGINE_CHECKPOINTS = "checkpoint_bytes" in {f.name for f in dataclasses.fields(PassOptions)}
needs_engine_checkpoints = pytest.mark.skipif(
    not ENGINE_CHECKPOINTS,
    reason="the engine has no checkpoint_bytes / on_durable(pass, offset, unwritten) yet",
)


def require_fuse() -> None:
    """Skip unless FUSE can be mounted here: root, /dev/fuse, fusermount and libfuse2."""
    if os.geteuid() != 0:
        pytest.skip("needs root: mounts FUSE and attaches loop devices")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("/dev/fuse is missing (no FUSE in this kernel or container)")
    if shutil.which("fusermount") is None and shutil.which("fusermount3") is None:
        pytest.skip("fusermount is not installed (.ci/run installs fuse3)")
    if ctypes.util.find_library("fuse") is None:
        pytest.skip("libfuse2 is not installed (.ci/run installs it; fusepy needs it)")


def _unmount(mount: Path, *, lazy: bool = False) -> bool:
    """Unmount our FUSE mount; True when it is no longer mounted."""
    tool = shutil.which("fusermount") or shutil.which("fusermount3") or "fusermount"
    args = [tool, "-u", "-z", str(mount)] if lazy else [tool, "-u", str(mount)]
    subprocess.run(args, check=False, capture_output=True)
    return not os.path.ismount(mount)


@dataclass
class FaultyImage:
    """An image file served through ``faultfs.py``, with faults the test sets live.

    ``path`` is the served file (write through it, or through ``loop()``); ``backing`` holds
    its bytes, to check what really landed; ``original`` is the content it started with.
    """

    backing: Path
    mount: Path
    config: Path
    log: Path
    size: int
    original: bytes
    proc: subprocess.Popen[bytes] | None = None
    loops: list[str] = field(default_factory=list)
    serial: int = 0

    @property
    def path(self) -> Path:
        """The served image file."""
        return self.mount / "disk.img"

    def start(self) -> None:
        """Mount the filesystem and wait until the image is served."""
        self.mount.mkdir(exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    str(FAULTFS),
                    str(self.backing),
                    str(self.mount),
                    str(self.config),
                ],
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 15
        while not (os.path.ismount(self.mount) and self.path.exists()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"faultfs did not mount: {self.log.read_text(errors='replace')}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Detach our loop devices, unmount, and stop our process (by its PID)."""
        for node in self.loops:
            detach_loop(node)
        self.loops.clear()
        deadline = time.monotonic() + 5
        while os.path.ismount(self.mount) and not _unmount(self.mount):
            if time.monotonic() > deadline:
                # A descriptor still open on the mount (a failed test): detach lazily.
                _unmount(self.mount, lazy=True)
                break
            time.sleep(0.1)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            self.proc = None

    def power_cut(self) -> None:
        """Kill the filesystem process (losing its volatile cache) and serve the image again.

        Only for tests without loop devices: a loop device would keep the dead mount's file.
        """
        assert not self.loops, "detach loop devices before a power cut"
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)
        self.proc = None
        if not _unmount(self.mount):
            _unmount(self.mount, lazy=True)
        self.start()

    def set_faults(self, **faults: Any) -> None:
        """Replace the faults in force (no arguments: none); the server confirms it read them."""
        self.serial += 1
        tmp = self.config.with_suffix(".tmp")
        tmp.write_text(json.dumps({**faults, "serial": self.serial}), encoding="utf-8")
        os.replace(tmp, self.config)
        error = self.stats()["config_error"]
        if error is not None:
            raise ValueError(f"faultfs refused the faults: {error}")

    def stats(self) -> dict[str, Any]:
        """The server's counters (requests, injected errors, whether the medium is gone)."""
        with open(self.mount / "stats", "rb") as f:
            result: dict[str, Any] = json.loads(f.read())
        return result

    def loop(self, *extra: str) -> str:
        """Attach a loop device to the served file (detached at teardown); its node.

        The device's requests are capped at 64 KiB, below FUSE's largest write (128 KiB), so
        that each request reaches faultfs whole and fails whole. Without the cap, FUSE splits
        a large request; when a later piece fails it returns a short count, and the loop
        driver completes a short *write* as a success (``lo_complete_rq`` only retries short
        reads): the error would vanish in the kernel, not in the code under test.
        """
        node = attach_loop(self.path, "--direct-io=off", *extra)
        self.loops.append(node)
        limit = Path("/sys/block") / Path(node).name / "queue" / "max_sectors_kb"
        limit.write_text(str(LOOP_MAX_KB), encoding="ascii")
        return node

    def detach(self, node: str) -> None:
        """Detach a loop device attached by ``loop()`` before teardown."""
        detach_loop(node)
        self.loops.remove(node)

    def content(self) -> bytes:
        """What the backing file holds now (the medium's real content)."""
        return self.backing.read_bytes()


@contextmanager
def serve_faulty_image(folder: Path, size: int) -> Iterator[FaultyImage]:
    """Serve a ``size``-byte image of random bytes from ``folder``; torn down on exit."""
    require_fuse()
    backing = folder / "backing.img"
    original = os.urandom(size)
    backing.write_bytes(original)
    config = folder / "faults.json"
    config.write_text("{}", encoding="utf-8")
    image = FaultyImage(backing, folder / "mnt", config, folder / "faultfs.log", size, original)
    image.start()
    try:
        yield image
    finally:
        image.stop()


def cover(ranges: list[tuple[int, int]], block: int, size: int) -> tuple[ByteRange, ...]:
    """The block-aligned cover of ``ranges``, merged: what an engine isolating to ``block``
    bytes must report for bad ranges injected at byte precision."""
    out: list[ByteRange] = []
    for start, end in sorted(ranges):
        lo, hi = start // block * block, min(-(-end // block) * block, size)
        if out and out[-1].end >= lo:
            out[-1] = ByteRange(out[-1].start, max(out[-1].end, hi))
        else:
            out.append(ByteRange(lo, hi))
    return tuple(out)


def expected_image(
    pattern: PassPattern, original: bytes, unwritten: tuple[ByteRange, ...]
) -> bytes:
    """The medium after one pass of ``pattern``: its bytes everywhere except ``unwritten``,
    where the medium refused the write and still holds its ``original`` content."""
    image = bytearray(expected_bytes(pattern, 0, len(original)))
    for r in unwritten:
        image[r.start : r.end] = original[r.start : r.end]
    return bytes(image)


def differing_blocks(actual: bytes, expected: bytes, block: int = 4096) -> list[int]:
    """Offsets of the ``block``-sized pieces where ``actual`` and ``expected`` differ."""
    assert len(actual) == len(expected)
    return [
        offset
        for offset in range(0, len(actual), block)
        if actual[offset : offset + block] != expected[offset : offset + block]
    ]
