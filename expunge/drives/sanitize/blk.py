"""Block-layer range requests (``<linux/fs.h>``): discard, secure discard, zero-out.

``BLKDISCARD`` tells the device the range holds nothing any more (TRIM / UNMAP /
Deallocate; a loop device punches a hole in its backing file); ``BLKSECDISCARD`` asks that
the data be erased, old copies included (eMMC secure erase/trim); ``BLKZEROOUT`` writes
zeros, offloaded where the device can. Ranges must be aligned to the logical block size.
"""

from __future__ import annotations

from expunge.drives.sanitize.commands import BlockCommand

BLKDISCARD = 0x1277
"""``_IO(0x12, 119)``."""
BLKSECDISCARD = 0x127D
"""``_IO(0x12, 125)``."""
BLKZEROOUT = 0x127F
"""``_IO(0x12, 127)``."""


def discard(start: int, length: int) -> BlockCommand:
    """Discard ``[start, start + length)``."""
    return BlockCommand("discard", BLKDISCARD, start, length)


def secure_discard(start: int, length: int) -> BlockCommand:
    """Securely discard ``[start, start + length)``."""
    return BlockCommand("secure discard", BLKSECDISCARD, start, length)


def zero_out(start: int, length: int) -> BlockCommand:
    """Zero ``[start, start + length)``."""
    return BlockCommand("zero out", BLKZEROOUT, start, length)
