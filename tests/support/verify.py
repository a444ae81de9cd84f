"""Helpers shared by the verification tests: write a pattern, corrupt blocks behind it."""

from __future__ import annotations

import mmap
import os
from pathlib import Path

from expunge.shred.patterns import PassPattern, expected_bytes

CHUNK = 1 << 20


def write_pattern(path: Path, pattern: PassPattern, size: int) -> None:
    """Overwrite ``path`` with ``size`` bytes of ``pattern`` (buffered), then fdatasync."""
    stream = pattern.stream()
    buffer = bytearray(CHUNK)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        offset = 0
        while offset < size:
            count = min(CHUNK, size - offset)
            view = memoryview(buffer)[:count]
            stream.fill(view, offset)
            os.pwrite(fd, view, offset)
            offset += count
        os.fdatasync(fd)
    finally:
        os.close(fd)


def flipped(pattern: PassPattern, offset: int, length: int) -> bytes:
    """The expected bytes of a range with every bit inverted: surely different."""
    return bytes(b ^ 0xFF for b in expected_bytes(pattern, offset, length))


def write_direct(path: Path | str, offset: int, data: bytes) -> None:
    """Write ``data`` at ``offset`` through a second descriptor opened O_DIRECT."""
    assert offset % 4096 == 0 and len(data) % 4096 == 0
    fd = os.open(path, os.O_WRONLY | os.O_DIRECT | os.O_CLOEXEC)
    try:
        with mmap.mmap(-1, len(data)) as buffer:
            buffer[:] = data
            assert os.pwrite(fd, buffer, offset) == len(data)
        os.fsync(fd)
    finally:
        os.close(fd)


def corrupt_block(path: Path | str, pattern: PassPattern, offset: int, length: int = 4096) -> None:
    """Replace ``[offset, offset + length)`` with the inverse of what ``pattern`` wrote."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.pwrite(fd, flipped(pattern, offset, length), offset)
        os.fdatasync(fd)
    finally:
        os.close(fd)
