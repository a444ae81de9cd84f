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
