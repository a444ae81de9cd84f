"""The content pin: an object to resume must hold what the journal says was written to it.

The journal keeps every pass's pattern (and key), so the bytes of the durably written
region can be recomputed (``expected_bytes``) and compared with what the file holds. A
different file that took the inode number, size and path of a removed one holds other
bytes there, and resuming onto it would certify passes it never received.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from expunge.shred.journal.record import JournalRecord
from expunge.shred.patterns import expected_bytes
from expunge.shred.report import ByteRange

SAMPLE_BYTES = 4096
SAMPLES = 16


def _minus(whole: ByteRange, holes: tuple[ByteRange, ...]) -> list[ByteRange]:
    """``whole`` without ``holes`` (sorted, merged: as the journal keeps them)."""
    out, at = [], whole.start
    for hole in holes:
        if hole.start > at:
            out.append(ByteRange(at, min(hole.start, whole.end)))
        at = max(at, hole.end)
    if at < whole.end:
        out.append(ByteRange(at, whole.end))
    return [r for r in out if r.length > 0]


def written_region(record: JournalRecord) -> tuple[tuple[int, ...], list[ByteRange]] | None:
    """The passes (1-based) whose bytes may be on the medium, and where; None before
    anything was durably written.

    Below the durable offset of the pass in progress, only that pass. At offset 0 of a
    later pass, the last completed pass, or the pass in progress wherever it wrote before
    the interruption without reaching its first checkpoint.
    """
    if not record.finished and record.offset > 0:
        durable = _minus(ByteRange(0, record.offset), record.unwritten)
        return (record.pass_index,), durable
    if record.done:
        last = record.done[-1]
        whole = _minus(ByteRange(0, record.target.size), last.unwritten)
        later = () if record.finished else (record.pass_index,)
        return (last.index, *later), whole
    return None


def _samples(regions: list[ByteRange]) -> Iterator[ByteRange]:
    """Up to ``SAMPLES`` blocks spread over ``regions``, the first and last byte included,
    aligned to ``SAMPLE_BYTES`` so that none straddles a page written by two passes."""
    total = sum(r.length for r in regions)
    if total == 0:
        return
    points = sorted({(total - 1) * k // (SAMPLES - 1) for k in range(SAMPLES)})
    base = 0
    for region in regions:
        for point in points:
            if base <= point < base + region.length:
                aligned = (region.start + point - base) // SAMPLE_BYTES * SAMPLE_BYTES
                start = max(aligned, region.start)
                yield ByteRange(start, min(aligned + SAMPLE_BYTES, region.end))
        base += region.length


def content_mismatch(fd: int, record: JournalRecord) -> str | None:
    """Where the object open as ``fd`` differs from what the journal's passes wrote to it,
    as one phrase; None when every sampled block matches (or nothing was written yet).

    ``fd`` may be write-only: the blocks are read through a second descriptor.
    """
    found = written_region(record)
    if found is None:
        return None
    indexes, regions = found
    read_fd = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        for sample in _samples(regions):
            held = os.pread(read_fd, sample.length, sample.start)
            written = [
                expected_bytes(record.passes[i - 1], sample.start, sample.length) for i in indexes
            ]
            if held not in written:
                which = " or ".join(str(i) for i in indexes)
                return f"the bytes at offset {sample.start} are not what pass {which} wrote there"
    finally:
        os.close(read_fd)
    return None
