"""Block devices (root): verification of /dev/loopN reads the media, not the device's cache.

A loop device with the default ``dio=0`` keeps its own page cache in front of the backing
file. Writing the backing file changes "the media" without touching that cache: a buffered
read of the device still returns the old bytes, and only a read that bypasses the cache
sees the change. Each loop device is attached by the test and detached in teardown.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from expunge.shred.patterns import PassPattern, expected_bytes
from expunge.verify.plan import make_plan
from expunge.verify.readback import TargetIdentity, probe_target, verify_fd, verify_path
from tests.support.verify import CHUNK, flipped

pytestmark = pytest.mark.root

MiB = 1 << 20
SIZE = 32 * MiB
KEY = bytes(range(1, 33))
SEED = bytes(range(200, 232))

Attach = Callable[[Path], str]


def _write_device(fd: int, pattern: PassPattern, size: int) -> None:
    """Write ``pattern`` through the device node (its page cache), then fsync."""
    stream = pattern.stream()
    buffer = bytearray(CHUNK)
    for offset in range(0, size, CHUNK):
        view = memoryview(buffer)[: min(CHUNK, size - offset)]
        stream.fill(view, offset)
        os.pwrite(fd, view, offset)
    os.fsync(fd)


def _buffered_read(path: str, offset: int, length: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.pread(fd, length, offset)
    finally:
        os.close(fd)


@pytest.fixture
def loop_target(disk_dir: Path, loop_attach: Attach) -> Iterator[tuple[str, Path, PassPattern]]:
    """A loop device holding a random pass, written through the device node.

    The writer's descriptor stays open for the whole test: the kernel drops a block
    device's page cache when its last opener closes it, and the test needs that cache.
    """
    backing = disk_dir / "backing.img"
    with open(backing, "wb") as handle:
        handle.truncate(SIZE)
    device = loop_attach(backing)
    pattern = PassPattern.random(KEY)
    holder = os.open(device, os.O_WRONLY | os.O_CLOEXEC)
    try:
        _write_device(holder, pattern, SIZE)
        yield device, backing, pattern
    finally:
        os.close(holder)


def _change_backing_file(backing: Path, pattern: PassPattern, offset: int) -> None:
    fd = os.open(backing, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.pwrite(fd, flipped(pattern, offset, 4096), offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def test_a_clean_device_verifies_in_every_mode(
    loop_target: tuple[str, Path, PassPattern], engine: str
) -> None:
    device, _, pattern = loop_target
    info = probe_target(device)
    assert info.size == SIZE
    assert info.identity.kind == "block"
    assert info.identity == TargetIdentity("block", os.stat(device).st_rdev)
    for mode in ("nist", "quick", "full"):
        plan = make_plan(info.size, mode, seed=SEED, align=info.logical_block_size)
        report = verify_path(device, pattern, plan, expect_identity=info.identity)
        assert report.status == "success", report.mismatches
        assert report.cache_bypass == "O_DIRECT"
        assert report.observed_size == SIZE


def test_cache_bypass_a_change_to_the_backing_file_is_caught(
    loop_target: tuple[str, Path, PassPattern], monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    device, backing, pattern = loop_target
    offset = 7 * MiB + 4096 * 3
    _change_backing_file(backing, pattern, offset)

    # the device's page cache still holds what was written through it: a read from the
    # cache would "verify" a medium that no longer holds the pattern
    assert _buffered_read(device, offset, 4096) == expected_bytes(pattern, offset, 4096)

    plan = make_plan(SIZE, "full", block_size=4096, seed=SEED)
    report = verify_path(device, pattern, plan)
    assert report.cache_bypass == "O_DIRECT"
    assert report.status == "failed"
    assert report.mismatches == (offset,)

    # the fallback (fsync + POSIX_FADV_DONTNEED + buffered reads) sees it too
    real_open = os.open

    def refuse_direct(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse_direct)
    report = verify_path(device, pattern, plan)
    assert report.cache_bypass == "fadvise-dontneed"
    assert report.mismatches == (offset,)
    monkeypatch.undo()
    # and it dropped the stale page, so a buffered read now shows the media
    assert _buffered_read(device, offset, 4096) == flipped(pattern, offset, 4096)


def test_sampled_modes_catch_the_change_when_they_sample_it(
    loop_target: tuple[str, Path, PassPattern], engine: str
) -> None:
    device, backing, pattern = loop_target
    plan = make_plan(SIZE, "quick", seed=SEED, align=512)
    offset = plan.offsets[len(plan.offsets) // 2]  # a block the plan reads
    _change_backing_file(backing, pattern, offset - offset % 4096)
    assert _buffered_read(device, offset, 512) == expected_bytes(pattern, offset, 512)
    report = verify_path(device, pattern, plan)
    assert offset in report.mismatches and report.status == "failed"


def test_verify_fd_on_an_exclusively_opened_device(
    loop_target: tuple[str, Path, PassPattern], engine: str
) -> None:
    device, _, pattern = loop_target
    fd = os.open(device, os.O_RDWR | os.O_EXCL | os.O_CLOEXEC)  # as a wipe holds it
    try:
        assert stat.S_ISBLK(os.fstat(fd).st_mode)
        plan = make_plan(SIZE, "nist", seed=SEED, align=512)
        report = verify_fd(fd, pattern, plan, name=device)
        assert report.status == "success" and report.cache_bypass == "O_DIRECT"
    finally:
        os.close(fd)
