"""The overwrite engine against media that really fail: bad sectors, flaky writes, pulled
drives, failing syncs; served by faultfs, directly and as a loop block device.

Every scenario checks the outcome a user would see (status, unwritten ranges) against what
the medium really holds afterwards (the backing file): ranges reported unwritten still hold
their original bytes, every other byte holds the pattern, and nothing failed is a success.
"""

from __future__ import annotations

import fcntl
import os
import stat
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

import pytest

from expunge.shred.overwrite import PassOptions, run_passes
from expunge.shred.patterns import PassPattern, expected_bytes
from expunge.shred.report import ByteRange, PassResult, TargetIdentity, WipeReport
from expunge.verify import make_plan, verify_fd
from tests.support.faults import FaultyImage, MiB, cover, differing_blocks, expected_image

SIZE = 16 * MiB
BLKGETSIZE64 = 0x80081272

Image = Callable[[int], FaultyImage]


@contextmanager
def opened(image: FaultyImage, target: str, *, direct: bool = True) -> Iterator[int]:
    """The served file (read-write, or write-only as ``shred`` opens files), or a loop
    device on it opened as a drive is (``O_DIRECT|O_EXCL``)."""
    if target == "file":
        fd = os.open(image.path, os.O_RDWR | os.O_CLOEXEC)
    elif target == "file-write-only":
        fd = os.open(image.path, os.O_WRONLY | os.O_CLOEXEC)
    else:
        node = image.loop()
        flags = os.O_RDWR | os.O_EXCL | os.O_CLOEXEC | (os.O_DIRECT if direct else 0)
        fd = os.open(node, flags)
    try:
        yield fd
    finally:
        os.close(fd)


def wipe(
    fd: int, passes: tuple[PassPattern, ...], block: int, **options: object
) -> tuple[WipeReport, list[tuple[int, int]]]:
    """Run the engine over the whole target; the report and every ``on_durable`` call."""
    st = os.fstat(fd)
    if stat.S_ISBLK(st.st_mode):
        (size,) = struct.unpack("Q", fcntl.ioctl(fd, BLKGETSIZE64, b"\0" * 8))
    else:
        size = st.st_size
    durable: list[tuple[int, int]] = []

    def on_durable(index: int, offset: int, unwritten: tuple[ByteRange, ...]) -> None:
        durable.append((index, offset))

    opts = PassOptions(
        block_size=block,
        buffered=False,
        on_durable=on_durable,
        **options,  # type: ignore[arg-type]
    )
    results = run_passes(fd, size, passes, opts)
    kind: Literal["file", "device"] = "device" if stat.S_ISBLK(st.st_mode) else "file"
    identity = TargetIdentity(f"fd {fd}", kind, size, st.st_dev, st.st_ino)
    return WipeReport(identity, "test", results, len(passes)), durable


BAD_RANGES = {
    "middle": [(5 * MiB + 1000, 5 * MiB + 9000)],
    "start": [(0, 100)],
    "end": [(SIZE - 700, SIZE)],
    "several": [(MiB + 5, MiB + 6), (9 * MiB, 9 * MiB + 8193), (12 * MiB - 1, 12 * MiB + 1)],
}


@pytest.mark.parametrize("where", sorted(BAD_RANGES))
@pytest.mark.parametrize(("target", "block"), [("file", 512), ("file", 4096), ("loop", 512)])
def test_bad_ranges_are_isolated_and_everything_else_is_written(
    faulty_image: Image, where: str, target: str, block: int
) -> None:
    image = faulty_image(SIZE)
    bad = BAD_RANGES[where]
    image.set_faults(write_errors=[list(r) for r in bad])
    passes = (PassPattern.fixed(b"\x55"), PassPattern.random())
    with opened(image, target) as fd:
        report, durable = wipe(fd, passes, block)
    unwritten = cover(bad, block, SIZE)
    assert report.status == "partial"
    assert [p.unwritten for p in report.passes] == [unwritten, unwritten]
    assert all(p.synced and p.bytes_written == SIZE for p in report.passes)
    assert durable == [(1, SIZE), (2, SIZE)]
    # The refused blocks still hold the original bytes; every other byte the final pass.
    expected = expected_image(passes[-1], image.original, unwritten)
    assert differing_blocks(image.content(), expected) == []
    assert image.stats()["write_errors"] > 0


@pytest.mark.parametrize("target", ["file", "loop"])
def test_intermittent_errors_that_a_retry_gets_through_are_a_success(
    faulty_image: Image, target: str
) -> None:
    image = faulty_image(SIZE)
    # Every other MiB refuses the first write that touches it, then works.
    image.set_faults(flaky_writes=[[m * MiB, (m + 1) * MiB, 1] for m in range(0, 16, 2)])
    passes = (PassPattern.random(),)
    with opened(image, target) as fd:
        report, _ = wipe(fd, passes, 4096)
    assert image.stats()["write_errors"] >= 8
    assert report.status == "success"
    assert report.unwritten == ()
    assert image.content() == expected_bytes(passes[0], 0, SIZE)


def test_abort_on_error_stops_at_the_first_bad_range(faulty_image: Image) -> None:
    image = faulty_image(SIZE)
    image.set_faults(write_errors=[[6 * MiB, 6 * MiB + 512]])
    passes = (PassPattern.random(), PassPattern.fixed(b"\0"))
    with opened(image, "file") as fd:
        report, _ = wipe(fd, passes, 512, on_error="abort")
    assert report.status == "failed"
    assert len(report.passes) == 1
    (result,) = report.passes
    # The chunk holding the bad block was written around it; the rest was never tried.
    assert result.unwritten == (ByteRange(6 * MiB, 6 * MiB + 512), ByteRange(8 * MiB, SIZE))
    expected = expected_image(passes[0], image.original, result.unwritten)
    assert differing_blocks(image.content(), expected) == []


def _pulled(
    report: WipeReport, passes: tuple[PassPattern, ...], image: FaultyImage, budget: int
) -> PassResult:
    """Checks common to every pulled drive; the pass that met the pull."""
    assert report.status == "interrupted"
    last = report.passes[-1]
    assert last.interrupted and not last.complete
    assert "stopped answering" in (last.error or "")
    # One range from where writes stopped taking to the end (blocks isolated before the
    # engine knew the medium was gone are part of it).
    (gone,) = last.unwritten
    assert gone.start <= last.bytes_written and gone.end == image.size
    content = image.content()
    # What the engine claims written is written; nothing past the pull reached the medium.
    assert content[: gone.start] == expected_bytes(passes[last.index - 1], 0, gone.start)
    assert content[budget:] == image.original[budget:]
    return last


@pytest.mark.parametrize(("target", "gone"), [("file", "ENXIO"), ("loop", "ENODEV")])
def test_a_drive_pulled_at_40_percent_is_interrupted(
    faulty_image: Image, target: str, gone: str
) -> None:
    image = faulty_image(SIZE)
    budget = SIZE * 4 // 10
    image.set_faults(fail_after_bytes=budget, gone_errno=gone)
    passes = (PassPattern.random(), PassPattern.fixed(b"\0"))
    with opened(image, target) as fd:
        report, durable = wipe(fd, passes, 4096)
    last = _pulled(report, passes, image, budget)
    assert last.index == 1 and durable == []
    assert image.stats()["gone"]


@pytest.mark.parametrize(
    ("target", "size"), [("file", SIZE), ("loop", SIZE), ("file-write-only", 32 * MiB)]
)
def test_a_drive_pulled_with_eio_on_everything_is_interrupted(
    faulty_image: Image, target: str, size: int
) -> None:
    """Through a loop device every errno the medium gives becomes EIO, as it does for a
    USB disk that vanished below the SCSI layer. Where blocks written before can be read
    back, their failing reads tell a gone medium from bad sectors; through a write-only
    descriptor nothing can be read, and only a long run of refused writes can tell."""
    image = faulty_image(size)
    budget = size * 4 // 10
    image.set_faults(fail_after_bytes=budget, gone_errno="EIO")
    passes = (PassPattern.random(),)
    with opened(image, target) as fd:
        report, _ = wipe(fd, passes, 4096)
    _pulled(report, passes, image, budget)


@pytest.mark.parametrize("target", ["file", "loop"])
def test_a_failed_sync_fails_the_pass_and_is_never_durable(
    faulty_image: Image, target: str
) -> None:
    image = faulty_image(SIZE)
    image.set_faults(fsync_error=True)
    passes = (PassPattern.random(), PassPattern.fixed(b"\0"))
    with opened(image, target) as fd:
        report, durable = wipe(fd, passes, 512)
    assert image.stats()["fsync_errors"] >= 1
    assert report.status == "failed"
    (result,) = report.passes  # no pass after a failed sync
    assert not result.synced and "fdatasync failed" in (result.error or "")
    assert durable == []


def test_write_errors_hidden_by_the_page_cache_fail_at_the_sync(faulty_image: Image) -> None:
    """Without O_DIRECT the block device's page cache takes the writes and only writeback,
    at the final fdatasync, meets the bad sectors: the ranges are unknown, so it fails."""
    image = faulty_image(SIZE)
    image.set_faults(write_errors=[[3 * MiB, 3 * MiB + 4096]])
    with opened(image, "loop", direct=False) as fd:
        report, durable = wipe(fd, (PassPattern.random(),), 512)
    assert image.stats()["write_errors"] >= 1
    assert report.status == "failed"
    assert not report.passes[0].synced
    assert durable == []


def test_a_stop_on_a_slow_medium_ends_after_the_buffer_synced(faulty_image: Image) -> None:
    image = faulty_image(SIZE)
    image.set_faults(delay=0.01)  # per 128 KiB request: about 12 MiB/s
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    passes = (PassPattern.random(), PassPattern.fixed(b"\0"))
    try:
        with opened(image, "file") as fd:
            report, durable = wipe(fd, passes, 4096, stop=stop)
    finally:
        timer.cancel()
    assert report.status == "interrupted"
    (result,) = report.passes
    assert result.synced and 0 < result.bytes_written < SIZE
    assert durable == [(1, result.bytes_written)]
    assert image.content()[: result.bytes_written] == expected_bytes(
        passes[0], 0, result.bytes_written
    )


def test_read_errors_fail_verification_with_their_offsets(faulty_image: Image) -> None:
    image = faulty_image(SIZE)
    pattern = PassPattern.random()
    with opened(image, "loop") as fd:
        report, _ = wipe(fd, (pattern,), 512)
        assert report.status == "success"
        image.set_faults(read_errors=[[7 * MiB + 100, 7 * MiB + 200]])
        verification = verify_fd(fd, pattern, make_plan(SIZE, "full"))
    assert verification.status == "failed"
    block = verification.block_size
    assert [offset for offset, _ in verification.read_errors] == [(7 * MiB + 100) // block * block]
    assert set(verification.mismatches) == {offset for offset, _ in verification.read_errors}


def test_writes_the_medium_silently_loses_are_caught_by_verification(
    faulty_image: Image,
) -> None:
    """The engine cannot see a write that is acknowledged and dropped; reading back can."""
    image = faulty_image(SIZE)
    image.set_faults(lost_writes=[[10 * MiB, 10 * MiB + 1]])
    pattern = PassPattern.random()
    with opened(image, "file") as fd:
        report, _ = wipe(fd, (pattern,), 4096)
        assert report.status == "success"
        assert image.stats()["lost_writes"] >= 1
        verification = verify_fd(fd, pattern, make_plan(SIZE, "full"))
    assert verification.status == "failed"
    (sample,) = verification.mismatches
    assert sample <= 10 * MiB < sample + verification.block_size
    assert verification.read_errors == ()
