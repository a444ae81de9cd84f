"""Read-back verification of files: clean passes verify, corruption is caught, cache bypassed."""

from __future__ import annotations

import errno
import os
import random
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expunge.core.errors import TargetError
from expunge.shred.patterns import PassPattern, expected_bytes
from expunge.verify.plan import make_plan
from expunge.verify.readback import (
    TargetIdentity,
    expected_digest,
    probe_target,
    verify_fd,
    verify_path,
)
from expunge.verify.readback.linux_aio import AioReader
from expunge.verify.readback.tally import Tally
from expunge.verify.report import VerificationReport
from tests.support.verify import corrupt_block, flipped, write_direct, write_pattern

MiB = 1 << 20
SIZE = 16 * MiB + 12345  # not a multiple of the block size: the last sample is short
KEY = bytes(range(32))
PATTERNS = {
    "fixed-00": PassPattern.fixed(b"\x00"),
    "fixed-3-byte": PassPattern.fixed(bytes.fromhex("924924")),
    "random": PassPattern.random(KEY),
}
SEED = bytes(range(100, 132))


@pytest.fixture(scope="module")
def written(module_disk_dir: Path) -> dict[str, Path]:
    """One clean file per pattern, written and synced once for the module."""
    files = {}
    for name, pattern in PATTERNS.items():
        path = module_disk_dir / name
        write_pattern(path, pattern, SIZE)
        files[name] = path
    return files


@pytest.mark.parametrize("mode", ["nist", "quick", "full", "none"])
@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_a_clean_overwrite_verifies_in_every_mode(
    written: dict[str, Path], name: str, mode: str, engine: str
) -> None:
    path, pattern = written[name], PATTERNS[name]
    plan = make_plan(SIZE, mode, seed=SEED)
    report = verify_path(path, pattern, plan, expect_identity=probe_target(path).identity)
    if mode == "none":
        assert report.status == "skipped"
        assert report.blocks_checked == 0 and report.cache_bypass == "none"
        return
    assert report.status == "success", report.mismatches
    assert report.cache_bypass == "O_DIRECT"
    assert report.blocks_checked == report.blocks_planned == plan.sample_count
    assert report.bytes_checked == plan.bytes_planned
    assert report.coverage == plan.coverage
    assert report.mismatches == () and report.read_errors == ()
    assert report.digest == expected_digest(plan, pattern)
    assert report.observed_size == SIZE and report.pattern == pattern.label
    assert report.plan() == plan
    assert VerificationReport.from_dict(report.to_dict()) == report


def test_a_quick_plan_with_few_workers_gives_the_same_digest(written: dict[str, Path]) -> None:
    plan = make_plan(SIZE, "quick", seed=SEED)
    pattern = PATTERNS["random"]
    one = verify_path(written["random"], pattern, plan, workers=1)
    many = verify_path(written["random"], pattern, plan, workers=8)
    assert one.digest == many.digest == expected_digest(plan, pattern)


def test_a_wrong_key_is_caught(written: dict[str, Path], engine: str) -> None:
    wrong = PassPattern.random(bytes(32))
    for mode in ("quick", "nist", "full"):
        plan = make_plan(SIZE, mode, seed=SEED)
        report = verify_path(written["random"], wrong, plan)
        assert report.status == "failed"
        assert report.mismatches == plan.offsets  # every sample differs
        assert report.read_errors == ()


def test_a_wrong_fixed_pattern_or_phase_is_caught(written: dict[str, Path]) -> None:
    plan = make_plan(SIZE, "quick", seed=SEED)
    assert verify_path(written["fixed-00"], PassPattern.fixed(b"\xff"), plan).status == "failed"
    shifted = PassPattern.fixed(bytes.fromhex("492492"))  # the right bytes, the wrong phase
    assert verify_path(written["fixed-3-byte"], shifted, plan).status == "failed"


@pytest.fixture
def fresh(disk_dir: Path) -> tuple[Path, PassPattern]:
    path = disk_dir / "target"
    pattern = PassPattern.random(KEY)
    write_pattern(path, pattern, SIZE)
    return path, pattern


def _blocks_of(size: int) -> int:
    return -(-size // 4096)


@pytest.mark.parametrize("which", ["first", "second", "middle", "last-full", "tail"])
def test_one_corrupted_block_is_caught_by_full(
    fresh: tuple[Path, PassPattern], which: str, engine: str
) -> None:
    path, pattern = fresh
    last = _blocks_of(SIZE) - 1
    index = {"first": 0, "second": 1, "middle": last // 2, "last-full": last - 1, "tail": last}
    offset = index[which] * 4096
    length = min(4096, SIZE - offset)
    corrupt_block(path, pattern, offset, length)
    plan = make_plan(SIZE, "full", seed=SEED)
    report = verify_path(path, pattern, plan)
    assert report.status == "failed"
    sample = offset - offset % plan.block_size
    assert report.mismatches == (sample,)
    assert report.read_errors == ()
    assert report.blocks_checked == plan.sample_count  # a mismatch does not stop the run
    # the same at 4 KiB granularity names the very block
    fine = make_plan(SIZE, "full", block_size=4096, seed=SEED)
    assert verify_path(path, pattern, fine).mismatches == (offset,)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(block=st.integers(min_value=0, max_value=_blocks_of(SIZE) - 1))
def test_one_corrupted_block_anywhere_is_caught_by_full(
    fresh: tuple[Path, PassPattern], block: int
) -> None:
    path, pattern = fresh
    offset = block * 4096
    length = min(4096, SIZE - offset)
    corrupt_block(path, pattern, offset, length)
    try:
        report = verify_path(path, pattern, make_plan(SIZE, "full", seed=SEED))
        assert report.status == "failed"
        assert report.mismatches == (offset - offset % (4 * MiB),)
    finally:  # restore for the next example
        fd = os.open(path, os.O_WRONLY)
        os.pwrite(fd, expected_bytes(pattern, offset, length), offset)
        os.fdatasync(fd)
        os.close(fd)


def test_two_percent_corrupted_blocks_are_caught_by_nist(
    fresh: tuple[Path, PassPattern], engine: str
) -> None:
    path, pattern = fresh
    blocks = _blocks_of(SIZE)
    bad = random.Random(2).sample(range(blocks), blocks * 2 // 100)
    fd = os.open(path, os.O_WRONLY)
    for index in bad:
        offset = index * 4096
        length = min(4096, SIZE - offset)
        os.pwrite(fd, flipped(pattern, offset, length), offset)
    os.fdatasync(fd)
    os.close(fd)
    for seed in range(20):
        plan = make_plan(SIZE, "nist", seed=bytes([seed]) * 32)
        report = verify_path(path, pattern, plan)
        assert report.status == "failed"
        hit = sorted(
            {o for o, n in plan.samples() for i in bad if o < (i + 1) * 4096 and i * 4096 < o + n}
        )
        assert list(report.mismatches) == hit  # exactly the samples that touch a bad block


def test_a_ten_byte_file_verifies_whole(disk_dir: Path, engine: str) -> None:
    path = disk_dir / "ten"
    pattern = PassPattern.random(KEY)
    write_pattern(path, pattern, 10)
    for mode in ("nist", "quick", "full"):
        plan = make_plan(10, mode, seed=SEED)
        report = verify_path(path, pattern, plan)
        assert report.status == "success"
        assert report.bytes_checked == 10 and report.coverage == 1.0
        assert report.cache_bypass == "O_DIRECT"
    corrupt_block(path, pattern, 9, 1)
    assert verify_path(path, pattern, make_plan(10, "quick", seed=SEED)).mismatches == (0,)


def test_an_empty_file_verifies_trivially(disk_dir: Path) -> None:
    path = disk_dir / "empty"
    path.write_bytes(b"")
    report = verify_path(path, PassPattern.fixed(b"\0"), make_plan(0, "full", seed=SEED))
    # One empty sample at 0: the whole (empty) target was read, so the check is complete.
    assert report.status == "success" and report.blocks_planned == report.blocks_checked == 1


def test_cache_bypass_a_change_behind_the_page_cache_is_seen(disk_dir: Path, engine: str) -> None:
    """Write through the page cache, change a block with O_DIRECT, verification sees it."""
    path = disk_dir / "cached"
    pattern = PassPattern.fixed(bytes.fromhex("55aa"))
    write_pattern(path, pattern, SIZE)
    with open(path, "rb") as cached:  # make sure the written pages are in the page cache
        while cached.read(MiB):
            pass
    offset = 5 * MiB + 8192
    write_direct(path, offset, flipped(pattern, offset, 4096))
    plan = make_plan(SIZE, "full", block_size=4096, seed=SEED)
    report = verify_path(path, pattern, plan)
    assert report.cache_bypass == "O_DIRECT"
    assert report.mismatches == (offset,)


def _resident_bytes(path: Path) -> int:
    out = subprocess.run(
        ["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip())


@pytest.mark.skipif(shutil.which("fincore") is None, reason="fincore (util-linux) missing")
def test_cache_bypass_o_direct_reads_leave_no_pages_in_the_cache(
    fresh: tuple[Path, PassPattern], engine: str
) -> None:
    path, pattern = fresh
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
    assert _resident_bytes(path) == 0
    report = verify_path(path, pattern, make_plan(SIZE, "full", seed=SEED))
    assert report.status == "success" and report.cache_bypass == "O_DIRECT"
    assert _resident_bytes(path) == 0  # every byte came from the media


def _refuse_direct_open(monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def fake_open(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", fake_open)


def test_fallback_when_o_direct_is_refused_at_open(
    fresh: tuple[Path, PassPattern], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, pattern = fresh
    calls: list[tuple[int, int, int]] = []
    real_fadvise = os.posix_fadvise

    def spy(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append((offset, length, advice))
        real_fadvise(fd, offset, length, advice)

    _refuse_direct_open(monkeypatch)
    monkeypatch.setattr(os, "posix_fadvise", spy)
    plan = make_plan(SIZE, "nist", seed=SEED)
    report = verify_path(path, pattern, plan)
    assert report.status == "success"
    assert report.cache_bypass == "fadvise-dontneed"
    assert calls[0] == (0, 0, os.POSIX_FADV_DONTNEED)  # the whole target, before any read
    assert all(advice == os.POSIX_FADV_DONTNEED for _, _, advice in calls)
    assert len(calls) > plan.sample_count // 2  # and each read range again


def test_fallback_sees_changes_behind_the_page_cache(
    fresh: tuple[Path, PassPattern], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, pattern = fresh
    with open(path, "rb") as cached:
        while cached.read(MiB):
            pass
    offset = 3 * MiB
    write_direct(path, offset, flipped(pattern, offset, 4096))
    _refuse_direct_open(monkeypatch)
    report = verify_path(path, pattern, make_plan(SIZE, "full", block_size=4096, seed=SEED))
    assert report.cache_bypass == "fadvise-dontneed"
    assert report.mismatches == (offset,)


def test_fallback_when_o_direct_read_is_refused(
    fresh: tuple[Path, PassPattern], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some filesystems accept O_DIRECT at open and refuse the reads (EINVAL)."""
    path, pattern = fresh
    real_preadv = os.preadv
    synced: list[int] = []

    def fake_preadv(fd: int, buffers: list[memoryview], offset: int) -> int:
        import fcntl

        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_preadv(fd, buffers, offset)

    monkeypatch.setattr(os, "preadv", fake_preadv)
    monkeypatch.setattr(os, "fdatasync", lambda fd: synced.append(fd))
    writer = os.open(path, os.O_WRONLY)
    try:
        report = verify_path(path, pattern, make_plan(SIZE, "quick", seed=SEED), sync_fd=writer)
    finally:
        os.close(writer)
    assert report.status == "success"
    assert report.cache_bypass == "fadvise-dontneed"
    assert synced == [writer]  # fdatasync on the caller's writable descriptor


def _inject_eio(monkeypatch: pytest.MonkeyPatch, bad: int) -> None:
    """Make every read covering byte ``bad`` fail with EIO, synchronous or AIO."""
    real_preadv = os.preadv

    def failing_preadv(fd: int, buffers: list[memoryview], offset: int) -> int:
        if offset <= bad < offset + sum(len(b) for b in buffers):
            raise OSError(errno.EIO, "Input/output error")
        return real_preadv(fd, buffers, offset)

    monkeypatch.setattr(os, "preadv", failing_preadv)
    requests: dict[int, tuple[int, int]] = {}
    real_submit, real_reap = AioReader.submit, AioReader.reap

    def submit(self: AioReader, batch: list[tuple[int, int, int, int, int]]) -> int:
        queued = real_submit(self, batch)
        for slot, _, _, length, offset in batch[:queued]:
            requests[slot] = (offset, length)
        return queued

    def reap(self: AioReader, minimum: int = 1) -> list[tuple[int, int]]:
        results = []
        for slot, result in real_reap(self, minimum):
            offset, length = requests[slot]
            results.append((slot, -errno.EIO if offset <= bad < offset + length else result))
        return results

    monkeypatch.setattr(AioReader, "submit", submit)
    monkeypatch.setattr(AioReader, "reap", reap)


def test_read_errors_are_recorded_not_raised(
    fresh: tuple[Path, PassPattern], monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    path, pattern = fresh
    bad = 6 * MiB
    _inject_eio(monkeypatch, bad)
    plan = make_plan(SIZE, "full", block_size=MiB, seed=SEED)
    report = verify_path(path, pattern, plan)
    assert report.status == "failed"
    assert report.mismatches == (bad,)  # its neighbours in the same 4 MiB read are retried
    assert report.read_errors == ((bad, "EIO: Input/output error"),)
    assert report.blocks_checked == plan.sample_count - 1
    assert report.bytes_checked == SIZE - MiB
    assert VerificationReport.from_dict(report.to_dict()) == report


def test_the_aio_engine_is_used_for_o_direct(fresh: tuple[Path, PassPattern]) -> None:
    path, pattern = fresh
    created: list[int] = []
    real_init = AioReader.__init__

    def spy(self: AioReader, depth: int) -> None:
        created.append(depth)
        real_init(self, depth)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AioReader, "__init__", spy)
        report = verify_path(path, pattern, make_plan(SIZE, "quick", seed=SEED))
    assert report.ok and created and created[0] > 1


def test_threads_take_over_when_aio_is_unavailable(
    fresh: tuple[Path, PassPattern], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, pattern = fresh

    def unavailable(self: AioReader, depth: int) -> None:
        raise OSError(errno.ENOSYS, "Function not implemented")

    plan = make_plan(SIZE, "nist", seed=SEED)
    reference = verify_path(path, pattern, plan)
    monkeypatch.setattr(AioReader, "__init__", unavailable)
    report = verify_path(path, pattern, plan)
    assert report.ok and report.digest == reference.digest == expected_digest(plan, pattern)


def test_threads_take_over_when_aio_submit_fails(
    fresh: tuple[Path, PassPattern], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, pattern = fresh

    def refuse(self: AioReader, batch: list[tuple[int, int, int, int, int]]) -> int:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(AioReader, "submit", refuse)
    plan = make_plan(SIZE, "quick", seed=SEED)
    report = verify_path(path, pattern, plan)
    assert report.ok and report.digest == expected_digest(plan, pattern)


def test_a_truncated_file_fails_with_short_reads(
    fresh: tuple[Path, PassPattern], engine: str
) -> None:
    path, pattern = fresh
    plan = make_plan(SIZE, "full", block_size=MiB, seed=SEED)
    os.truncate(path, 10 * MiB + 100)
    report = verify_path(path, pattern, plan)
    assert report.status == "failed"
    assert report.observed_size == 10 * MiB + 100
    assert report.mismatches == tuple(range(10 * MiB, SIZE, MiB))
    assert all(note.startswith("short read") for _, note in report.read_errors)


def test_a_file_of_another_size_than_planned_fails(fresh: tuple[Path, PassPattern]) -> None:
    path, pattern = fresh
    plan = make_plan(SIZE - 4096, "full", seed=SEED)
    report = verify_path(path, pattern, plan)
    assert report.mismatches == () and report.status == "failed"


def test_stop_event_interrupts(
    fresh: tuple[Path, PassPattern], monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    path, pattern = fresh
    stop = threading.Event()
    real_evaluate = Tally.evaluate
    calls: list[int] = []

    def counting(self: Tally, *args: object) -> None:
        calls.append(1)
        if len(calls) == 3:
            stop.set()
        real_evaluate(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Tally, "evaluate", counting)
    plan = make_plan(SIZE, "quick", seed=SEED)
    report = verify_path(path, pattern, plan, stop=stop, workers=1)
    assert report.interrupted
    assert report.status == "failed"
    assert 3 <= report.blocks_checked < plan.sample_count  # reads in flight still count
    assert report.mismatches == ()
    report = verify_path(path, pattern, plan, stop=stop)  # stopped before it began
    assert report.interrupted and report.blocks_checked == 0


def test_progress_reports_every_byte_of_the_plan(
    fresh: tuple[Path, PassPattern], engine: str
) -> None:
    path, pattern = fresh
    events: list[tuple[str, str, int]] = []

    class Recorder:
        def start(self, task: str, total: int, label: str) -> None:
            events.append(("start", task, total))

        def advance(self, task: str, done: int) -> None:
            events.append(("advance", task, done))

        def finish(self, task: str) -> None:
            events.append(("finish", task, 0))

    plan = make_plan(SIZE, "nist", seed=SEED)
    verify_path(path, pattern, plan, progress=Recorder(), task="wipe-1")
    assert events[0] == ("start", "wipe-1", plan.bytes_planned)
    assert events[-1] == ("finish", "wipe-1", 0)
    assert sum(n for kind, _, n in events if kind == "advance") == plan.bytes_planned
    assert {task for _, task, _ in events} == {"wipe-1"}


def test_verify_fd_through_the_writers_descriptor(fresh: tuple[Path, PassPattern]) -> None:
    path, pattern = fresh
    writer = os.open(path, os.O_WRONLY)
    try:
        flags_before = __import__("fcntl").fcntl(writer, __import__("fcntl").F_GETFL)
        plan = make_plan(SIZE, "nist", seed=SEED)
        report = verify_fd(writer, pattern, plan, name=str(path))
        assert report.status == "success" and report.cache_bypass == "O_DIRECT"
        assert __import__("fcntl").fcntl(writer, __import__("fcntl").F_GETFL) == flags_before
        # an unlinked file can still be verified through its descriptor
        os.unlink(path)
        assert verify_fd(writer, pattern, plan).status == "success"
    finally:
        os.close(writer)


def test_verify_fd_checks_the_expected_identity(fresh: tuple[Path, PassPattern]) -> None:
    path, pattern = fresh
    fd = os.open(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        plan = make_plan(SIZE, "quick", seed=SEED)
        assert verify_fd(fd, pattern, plan, expect_identity=(st.st_dev, st.st_ino)).ok
        with pytest.raises(TargetError):
            verify_fd(fd, pattern, plan, expect_identity=(st.st_dev, st.st_ino + 1))
    finally:
        os.close(fd)


def test_a_replaced_file_is_refused(fresh: tuple[Path, PassPattern]) -> None:
    path, pattern = fresh
    identity = probe_target(path).identity
    replacement = path.with_name("replacement")
    write_pattern(replacement, pattern, SIZE)
    os.replace(replacement, path)
    with pytest.raises(TargetError, match="not the one expected"):
        verify_path(path, pattern, make_plan(SIZE, "quick", seed=SEED), expect_identity=identity)


def test_symlinks_directories_and_fifos_are_refused(disk_dir: Path) -> None:
    pattern = PassPattern.fixed(b"\0")
    plan = make_plan(4096, "full", seed=SEED)
    (disk_dir / "real").write_bytes(bytes(4096))
    (disk_dir / "link").symlink_to(disk_dir / "real")
    os.mkfifo(disk_dir / "fifo")
    (disk_dir / "dir").mkdir()
    with pytest.raises(TargetError, match="symbolic link"):
        verify_path(disk_dir / "link", pattern, plan)
    with pytest.raises(TargetError, match="not a regular file"):
        verify_path(disk_dir / "fifo", pattern, plan)  # and does not hang
    with pytest.raises(TargetError, match="not a regular file"):
        verify_path(disk_dir / "dir", pattern, plan)
    with pytest.raises(TargetError, match="no such file"):
        verify_path(disk_dir / "missing", pattern, plan)
    assert verify_path(disk_dir / "real", pattern, plan).ok


def test_probe_target_describes_a_file(fresh: tuple[Path, PassPattern]) -> None:
    path, _ = fresh
    info = probe_target(path)
    st = os.stat(path)
    assert info.size == SIZE and info.logical_block_size == 4096
    assert info.identity == TargetIdentity("file", st.st_dev, st.st_ino)
