"""The engine's two descriptors on real filesystems: O_DIRECT where the filesystem takes it,
the page cache where it does not, and the same bytes on the medium either way.

Every check reads the file twice after each pass: with ``O_DIRECT`` (what reached the
device below the filesystem) and through the page cache (what any later reader sees), after
a buffered read pulled the old content into the cache before the wipe. Both must be the
recomputed stream of the pass, byte for byte; the pass must record how it was written.
"""

from __future__ import annotations

import mmap
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from expunge.core.blockdev import pread_full, round_up
from expunge.shred.overwrite import PassOptions, WriteBuffer, run_passes, write_pass
from expunge.shred.patterns import PassPattern, expected_bytes
from expunge.shred.report import ByteRange, PassResult
from tests.support import attach_loop, detach_loop, mounted_image, need_tool, needs_root
from tests.support.faults import FaultyImage, MiB, cover, differing_blocks, expected_image

pytestmark = needs_root

SIZES = [0, 1, 4095, 4096, 4097, MiB + 3, 9 * MiB + 4097, 8 * MiB + 12345]
# A 3-byte pattern checks the phase across chunk and alignment boundaries; random passes
# check the keystream at every offset; each pass differs from the one before.
PASSES = (
    PassPattern.fixed(bytes.fromhex("924924")),
    PassPattern.random(),
    PassPattern.fixed(bytes.fromhex("b6db6d")),
    PassPattern.random(),
)
# What a file opened by shred/files.py looks like to the engine: write-only, buffered.
FILE_FLAGS = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def read_direct(path: Path, size: int) -> bytes:
    """The file's bytes as the device holds them (``O_DIRECT``, bypassing the page cache).

    Reads in 16 KiB units, which every filesystem here accepts; on ramfs, which refuses
    ``O_DIRECT``, the page cache is the medium, and a plain read shows it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    except OSError:
        return path.read_bytes()
    buf = mmap.mmap(-1, round_up(max(size, 1), 16384))
    try:
        with memoryview(buf) as view:
            got = pread_full(fd, view, 0, 16384)
        return bytes(buf[: min(got, size)])
    finally:
        buf.close()
        os.close(fd)


def accepts_direct(folder: Path) -> bool:
    """Whether the filesystem holding ``folder`` opens files with ``O_DIRECT``."""
    probe = folder / "probe"
    probe.write_bytes(b"x")
    try:
        os.close(os.open(probe, os.O_RDONLY | os.O_DIRECT))
    except OSError:
        return False
    finally:
        probe.unlink()
    return True


def wipe_and_check(path: Path, passes: tuple[PassPattern, ...]) -> tuple[PassResult, ...]:
    """Run ``passes`` over the file through a descriptor opened as ``shred`` opens files,
    checking after each pass that the device and the page cache hold its stream exactly."""
    size = path.stat().st_size
    path.read_bytes()  # the old content is now in the page cache
    seen: list[int] = []

    def check(result: PassResult) -> None:
        expected = expected_bytes(passes[result.index - 1], 0, size)
        assert read_direct(path, size) == expected, f"pass {result.index}: device"
        assert path.read_bytes() == expected, f"pass {result.index}: page cache"
        seen.append(result.index)

    fd = os.open(path, FILE_FLAGS)
    try:
        results = run_passes(fd, size, passes, PassOptions(), after_pass=check)
    finally:
        os.close(fd)
    assert seen == list(range(1, len(passes) + 1))
    assert all(r.complete and r.bytes_written == size for r in results)
    return results


@contextmanager
def memory_filesystem(folder: Path, fstype: str) -> Iterator[Path]:
    """A tmpfs or ramfs mounted on a folder of ours; unmounted in teardown."""
    mount = folder / f"{fstype}-mnt"
    mount.mkdir()
    subprocess.run(["mount", "-t", fstype, "-o", "size=64m", fstype, str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.fixture
def ext4_dir(tmp_path: Path) -> Iterator[Path]:
    with mounted_image(tmp_path, "ext4") as image:
        yield image.mount


@pytest.mark.parametrize("size", SIZES)
def test_ext4_writes_aligned_blocks_direct_and_every_byte_exactly(
    ext4_dir: Path, size: int
) -> None:
    path = ext4_dir / "target"
    path.write_bytes(os.urandom(size))
    results = wipe_and_check(path, PASSES)
    # Below 4 KiB no aligned block exists: the whole pass is a tail, through the page cache.
    expected_io = "O_DIRECT" if size >= 4096 else "buffered"
    assert [r.io for r in results] == [expected_io] * len(PASSES)
    assert all(r.to_dict()["io"] == expected_io for r in results)


@pytest.mark.parametrize("size", [1, 4097, MiB + 3, 9 * MiB + 4097])
def test_ramfs_refuses_o_direct_and_the_pass_records_buffered(tmp_path: Path, size: int) -> None:
    with memory_filesystem(tmp_path, "ramfs") as folder:
        assert not accepts_direct(folder)
        path = folder / "target"
        path.write_bytes(os.urandom(size))
        results = wipe_and_check(path, PASSES)
    assert [r.io for r in results] == ["buffered"] * len(PASSES)


@pytest.mark.parametrize("size", [4095, 4097, MiB + 3, 9 * MiB + 4097])
def test_tmpfs_records_what_the_kernel_accepted(tmp_path: Path, size: int) -> None:
    """tmpfs has opened O_DIRECT since Linux 6.6 (older kernels refuse it): the record must
    say what really happened, and the bytes must be exact either way."""
    with memory_filesystem(tmp_path, "tmpfs") as folder:
        direct = accepts_direct(folder)
        path = folder / "target"
        path.write_bytes(os.urandom(size))
        results = wipe_and_check(path, PASSES)
    expected_io = "O_DIRECT" if direct and size >= 4096 else "buffered"
    assert [r.io for r in results] == [expected_io] * len(PASSES)


@contextmanager
def xfs_with_16k_sectors(folder: Path) -> Iterator[Path]:
    """XFS on a loop device of 16 KiB logical sectors: it opens O_DIRECT, then refuses
    every write that is not 16 KiB aligned (EINVAL)."""
    mkfs = need_tool("mkfs.xfs")
    image = folder / "xfs16k.img"
    with open(image, "wb") as f:
        f.truncate(320 * MiB)
    try:
        node = attach_loop(image, "--sector-size", "16384")
    except subprocess.CalledProcessError:
        pytest.skip("this kernel has no loop devices with 16 KiB sectors")
    mount = folder / "xfs16k-mnt"
    mount.mkdir()
    try:
        made = subprocess.run(
            [mkfs, "-q", "-f", "-s", "size=16384", "-b", "size=16384", node], capture_output=True
        )
        if made.returncode != 0:
            pytest.skip(f"mkfs.xfs cannot make 16 KiB sectors: {made.stderr.decode().strip()}")
        if subprocess.run(["mount", node, str(mount)], capture_output=True).returncode != 0:
            pytest.skip("this kernel cannot mount XFS with blocks larger than a page")
        try:
            yield mount
        finally:
            subprocess.run(["umount", str(mount)], check=False)
    finally:
        detach_loop(node)


@pytest.mark.parametrize(
    ("size", "io"),
    [
        # The body up to the last 4 KiB block happens to be 16 KiB aligned: accepted.
        (MiB + 3, "O_DIRECT"),
        # Its last direct write is refused (EINVAL): that write and the rest of the pass
        # go through the page cache.
        (MiB + 4096 + 3, "buffered"),
        (9 * MiB + 4097, "buffered"),
    ],
)
def test_a_filesystem_refusing_4k_aligned_writes_falls_back_to_the_page_cache(
    tmp_path: Path, size: int, io: str
) -> None:
    with xfs_with_16k_sectors(tmp_path) as folder:
        assert accepts_direct(folder)
        path = folder / "target"
        path.write_bytes(os.urandom(size))
        results = wipe_and_check(path, PASSES[:2])
    assert [r.io for r in results] == [io, io]


def test_a_reader_holding_a_mapping_sees_the_new_bytes(ext4_dir: Path) -> None:
    """Pages mapped by a reader when the O_DIRECT writes land are not left stale."""
    size = 9 * MiB + 4097
    path = ext4_dir / "target"
    path.write_bytes(os.urandom(size))
    with open(path, "rb") as reader:
        mapping = mmap.mmap(reader.fileno(), size, prot=mmap.PROT_READ)
        try:
            assert len(mapping[:]) == size  # every page faulted in, old content
            results = wipe_and_check(path, PASSES[:2])
            assert mapping[:] == expected_bytes(PASSES[1], 0, size)
        finally:
            mapping.close()
    assert [r.io for r in results] == ["O_DIRECT", "O_DIRECT"]


def _stop_after(chunks: int, stop: threading.Event) -> PassOptions:
    """Options whose progress sink asks to stop once ``chunks`` chunks are written."""

    class Counter:
        done = 0

        def start(self, task: str, total: int, label: str) -> None:
            """Ignored."""

        def advance(self, task: str, done: int) -> None:
            self.done += 1
            if self.done == chunks:
                stop.set()

        def finish(self, task: str) -> None:
            """Ignored."""

    return PassOptions(progress=Counter(), stop=stop)


def test_a_stopped_pass_resumes_to_the_exact_stream(ext4_dir: Path) -> None:
    size = 9 * MiB + 4097
    path = ext4_dir / "target"
    path.write_bytes(os.urandom(size))
    passes = PASSES[:2]
    fd = os.open(path, FILE_FLAGS)
    try:
        # Pass 1 is three chunks; the stop lands after the first chunk of pass 2.
        stop = threading.Event()
        first = run_passes(fd, size, passes, _stop_after(4, stop))
        assert [r.complete for r in first] == [True, False]
        stopped = first[1]
        assert stopped.interrupted and stopped.synced and stopped.io == "O_DIRECT"
        assert stopped.bytes_written == 4 * MiB
        on_medium = read_direct(path, size)
        assert on_medium[: 4 * MiB] == expected_bytes(passes[1], 0, 4 * MiB)
        assert on_medium[4 * MiB :] == expected_bytes(passes[0], 4 * MiB, size - 4 * MiB)
        resumed = run_passes(
            fd, size, passes, PassOptions(), first_pass=2, first_offset=stopped.bytes_written
        )
    finally:
        os.close(fd)
    (last,) = resumed
    assert last.complete and last.resumed_from == 4 * MiB and last.io == "O_DIRECT"
    assert read_direct(path, size) == expected_bytes(passes[1], 0, size)
    assert path.read_bytes() == expected_bytes(passes[1], 0, size)


@pytest.mark.parametrize("start", [3, 4096, MiB + 3, 5 * MiB - 1])
def test_a_pass_resumed_at_any_offset_writes_from_there_only(ext4_dir: Path, start: int) -> None:
    """An unaligned resume offset gives an unaligned head, through the page cache, then
    aligned blocks; the bytes before the offset are untouched."""
    size = 9 * MiB + 4097
    path = ext4_dir / "target"
    old = os.urandom(size)
    path.write_bytes(old)
    path.read_bytes()
    pattern = PassPattern.random()
    buffer = WriteBuffer(64 << 10)  # many chunks: the first one ends at a 64 KiB boundary
    fd = os.open(path, FILE_FLAGS)
    try:
        result = write_pass(fd, size, pattern, 1, buffer, PassOptions(), start)
    finally:
        os.close(fd)
        buffer.close()
    assert result.complete and result.io == "O_DIRECT" and result.resumed_from == start
    expected = old[:start] + expected_bytes(pattern, start, size - start)
    assert read_direct(path, size) == expected
    assert path.read_bytes() == expected


def test_checkpoints_report_only_what_reached_the_device(ext4_dir: Path) -> None:
    size = 9 * MiB + 4097
    path = ext4_dir / "target"
    path.write_bytes(os.urandom(size))
    pattern = PassPattern.fixed(bytes.fromhex("924924"))
    durable: list[int] = []

    def on_durable(index: int, offset: int, unwritten: tuple[ByteRange, ...]) -> None:
        assert read_direct(path, size)[:offset] == expected_bytes(pattern, 0, offset)
        durable.append(offset)

    fd = os.open(path, FILE_FLAGS)
    try:
        options = PassOptions(on_durable=on_durable, checkpoint_bytes=4 * MiB)
        (result,) = run_passes(fd, size, (pattern,), options)
    finally:
        os.close(fd)
    assert result.complete and result.io == "O_DIRECT"
    assert durable == [4 * MiB, 8 * MiB, size]


# ------------------------------------------------------- faults through the O_DIRECT path

Image = Callable[[int], FaultyImage]
FAULT_SIZE = 16 * MiB


def _wipe_served(
    image: FaultyImage, passes: tuple[PassPattern, ...], **options: object
) -> tuple[tuple[PassResult, ...], list[int]]:
    """The engine over the served file as ``shred`` opens it (buffered, so O_DIRECT is its
    own choice); the results and every durable offset."""
    durable: list[int] = []

    def on_durable(index: int, offset: int, unwritten: tuple[ByteRange, ...]) -> None:
        durable.append(offset)

    fd = os.open(image.path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        opts = PassOptions(on_durable=on_durable, **options)  # type: ignore[arg-type]
        return run_passes(fd, image.size, passes, opts), durable
    finally:
        os.close(fd)


def test_bad_ranges_are_isolated_through_the_direct_descriptor(faulty_image: Image) -> None:
    image = faulty_image(FAULT_SIZE)
    bad = [(5 * MiB + 1000, 5 * MiB + 9000), (FAULT_SIZE - 700, FAULT_SIZE)]
    image.set_faults(write_errors=[list(r) for r in bad])
    passes = (PassPattern.fixed(b"\x55"), PassPattern.random())
    results, durable = _wipe_served(image, passes)
    unwritten = cover(bad, 512, FAULT_SIZE)
    assert [r.io for r in results] == ["O_DIRECT", "O_DIRECT"]
    assert [r.unwritten for r in results] == [unwritten, unwritten]
    assert all(r.synced and r.error is None for r in results)
    assert durable == [FAULT_SIZE, FAULT_SIZE]
    expected = expected_image(passes[-1], image.original, unwritten)
    assert differing_blocks(image.content(), expected) == []


def test_abort_on_error_stops_the_direct_pass_at_the_first_bad_range(
    faulty_image: Image,
) -> None:
    image = faulty_image(FAULT_SIZE)
    image.set_faults(write_errors=[[6 * MiB, 6 * MiB + 512]])
    (result,), _ = _wipe_served(image, (PassPattern.random(),), on_error="abort")
    assert result.error is not None and "write error at offset 6291456" in result.error
    assert result.unwritten == (ByteRange(6 * MiB, 6 * MiB + 512), ByteRange(8 * MiB, FAULT_SIZE))


def test_a_medium_gone_under_the_direct_descriptor_is_interrupted(faulty_image: Image) -> None:
    image = faulty_image(FAULT_SIZE)
    budget = FAULT_SIZE * 4 // 10
    image.set_faults(fail_after_bytes=budget, gone_errno="ENXIO")
    pattern = PassPattern.random()
    (result,), durable = _wipe_served(image, (pattern,))
    assert result.interrupted and not result.synced and durable == []
    assert "stopped answering" in (result.error or "")
    (gone,) = result.unwritten
    content = image.content()
    assert content[: gone.start] == expected_bytes(pattern, 0, gone.start)
    assert content[budget:] == image.original[budget:]


def test_a_failed_sync_fails_the_direct_pass(faulty_image: Image) -> None:
    image = faulty_image(FAULT_SIZE)
    image.set_faults(fsync_error=True)
    results, durable = _wipe_served(image, (PassPattern.random(), PassPattern.fixed(b"\0")))
    (result,) = results
    assert not result.synced and "fdatasync failed" in (result.error or "")
    assert durable == []
    assert image.stats()["fsync_errors"] >= 1
