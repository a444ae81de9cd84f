"""The engine writes exactly the pattern stream, every pass, durably."""

from __future__ import annotations

import os
from pathlib import Path

from expunge.shred.overwrite import PassOptions, WriteBuffer, run_passes, write_pass
from expunge.shred.patterns import PassPattern, expected_bytes


def _file(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "target"
    path.write_bytes(os.urandom(size))
    return path


def test_single_pass_writes_the_stream_exactly(tmp_path: Path) -> None:
    size = 3 * (1 << 20) + 12345
    path = _file(tmp_path, size)
    pattern = PassPattern.random()
    fd = os.open(path, os.O_WRONLY)
    try:
        (result,) = run_passes(fd, size, (pattern,), PassOptions())
    finally:
        os.close(fd)
    assert result.complete and result.bytes_written == size
    assert path.read_bytes() == expected_bytes(pattern, 0, size)
    assert result.pattern.key == pattern.key


def test_small_buffer_keeps_three_byte_phase(tmp_path: Path) -> None:
    size = 100_003
    path = _file(tmp_path, size)
    pattern = PassPattern.fixed(bytes.fromhex("924924"))
    buffer = WriteBuffer(4096)
    fd = os.open(path, os.O_WRONLY)
    try:
        result = write_pass(fd, size, pattern, 1, buffer, PassOptions())
    finally:
        os.close(fd)
        buffer.close()
    assert result.complete
    assert path.read_bytes() == (bytes.fromhex("924924") * (size // 3 + 1))[:size]


def test_intermediate_keys_are_dropped_final_key_kept(tmp_path: Path) -> None:
    size = 8192
    path = _file(tmp_path, size)
    passes = (PassPattern.random(), PassPattern.fixed(b"\xff"), PassPattern.random())
    fd = os.open(path, os.O_WRONLY)
    try:
        results = run_passes(fd, size, passes, PassOptions())
    finally:
        os.close(fd)
    assert [r.index for r in results] == [1, 2, 3]
    assert results[0].pattern.key is None
    assert results[2].pattern.key == passes[2].key
    assert path.read_bytes() == expected_bytes(passes[2], 0, size)


def test_stop_event_interrupts_after_the_current_buffer(tmp_path: Path) -> None:
    import threading

    size = 16 << 20
    path = _file(tmp_path, size)
    stop = threading.Event()
    stop.set()
    fd = os.open(path, os.O_WRONLY)
    try:
        results = run_passes(fd, size, (PassPattern.fixed(b"\0"),), PassOptions(stop=stop))
    finally:
        os.close(fd)
    assert results[0].interrupted and not results[0].complete
    assert results[0].bytes_written == 0


class _Sizes:
    """A progress sink that records the size of every chunk written."""

    def __init__(self) -> None:
        self.chunks: list[int] = []

    def start(self, task: str, total: int, label: str) -> None:
        """Ignored."""

    def advance(self, task: str, done: int) -> None:
        self.chunks.append(done)

    def finish(self, task: str) -> None:
        """Ignored."""


def test_buffer_slots_are_whole_4k_blocks() -> None:
    buffer = WriteBuffer(1000)
    try:
        assert buffer.size == 4096
        assert len(buffer.view(4096, 1)) == 4096
    finally:
        buffer.close()


def test_chunks_end_at_multiples_of_the_buffer_so_a_resumed_pass_realigns(
    tmp_path: Path,
) -> None:
    """After an unaligned start the first chunk is short; every later one starts at a
    multiple of the buffer size, where O_DIRECT can take it."""
    size = 20_000
    path = _file(tmp_path, size)
    old = path.read_bytes()
    pattern = PassPattern.fixed(bytes.fromhex("924924"))
    sizes = _Sizes()
    buffer = WriteBuffer(4096)
    fd = os.open(path, os.O_WRONLY)
    try:
        result = write_pass(fd, size, pattern, 1, buffer, PassOptions(progress=sizes), 1000)
    finally:
        os.close(fd)
        buffer.close()
    assert sizes.chunks == [3096, 4096, 4096, 4096, 3616]
    assert result.complete and result.resumed_from == 1000
    assert path.read_bytes() == old[:1000] + expected_bytes(pattern, 1000, size - 1000)


def test_without_buffered_the_callers_descriptor_is_written_as_it_is(tmp_path: Path) -> None:
    """``buffered=False`` (a drive opened O_DIRECT) makes no descriptor of its own: through
    a plain file descriptor the pass is recorded as written through the page cache."""
    size = (1 << 20) + 3
    path = _file(tmp_path, size)
    pattern = PassPattern.random()
    fd = os.open(path, os.O_WRONLY)
    try:
        (result,) = run_passes(fd, size, (pattern,), PassOptions(buffered=False))
    finally:
        os.close(fd)
    assert result.complete and result.io == "buffered"
    assert path.read_bytes() == expected_bytes(pattern, 0, size)
    assert result.to_dict()["io"] == "buffered"
