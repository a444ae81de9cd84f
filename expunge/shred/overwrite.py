"""The overwrite engine: one pass of a pattern over an open descriptor, durably.

I/O shape decides the speed: MiB-sized ``pwrite`` calls from one reused, page-aligned
buffer (aligned so the same buffer serves ``O_DIRECT`` on block devices), and one
``fdatasync`` per pass so that every pass reaches the media, not only the page cache.
For buffered targets, writeback of what was written is started as the pass goes
(``POSIX_FADV_DONTNEED``), so the final sync does not find a whole pass still in RAM.
"""

from __future__ import annotations

import errno
import mmap
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from expunge.progress import NULL_PROGRESS, ProgressSink
from expunge.shred.patterns import PassPattern
from expunge.shred.report import ByteRange, PassResult, utc_now

CHUNK_BYTES = 4 << 20
# Start writeback every this many bytes: large enough to keep requests big, small enough
# that dirty pages never pile up into one long stall at the end of the pass.
WRITEBACK_BYTES = 64 << 20
# A medium that has vanished answers every write this way; retrying block by block is
# pointless and would take hours on a large drive.
GONE_ERRNOS = frozenset({errno.ENODEV, errno.ENXIO, errno.ESHUTDOWN})


class MediaGone(Exception):
    """The medium stopped answering (pulled drive); raised inside the engine only."""


@dataclass
class WriteBuffer:
    """A page-aligned buffer reused across passes (mmap memory is page aligned)."""

    size: int = CHUNK_BYTES
    _map: mmap.mmap = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._map = mmap.mmap(-1, self.size)

    def view(self, length: int) -> memoryview:
        """The first ``length`` bytes of the buffer."""
        return memoryview(self._map)[:length]

    def close(self) -> None:
        """Release the buffer."""
        self._map.close()


def pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset``, looping over short writes and EINTR."""
    done = 0
    while done < len(data):
        try:
            written = os.pwrite(fd, data[done:], offset + done)
        except InterruptedError:
            continue
        if written == 0:
            raise OSError(errno.EIO, "write returned 0 bytes")
        done += written


@dataclass(frozen=True)
class PassOptions:
    """How a pass writes: chunking, alignment, error policy, and where it reports."""

    block_size: int = 512
    buffered: bool = True
    on_error: str = "continue"
    progress: ProgressSink = NULL_PROGRESS
    task: str = "wipe"
    stop: threading.Event | None = None
    on_durable: Callable[[int, int], None] | None = None


def _isolate_bad_ranges(fd: int, data: memoryview, offset: int, block: int) -> list[ByteRange]:
    """Retry a failed write in halves down to ``block`` bytes; return what stayed unwritten."""
    try:
        pwrite_all(fd, data, offset)
        return []
    except OSError as exc:
        if exc.errno in GONE_ERRNOS:
            raise MediaGone(os.strerror(exc.errno or errno.EIO)) from exc
        if len(data) <= block:
            return [ByteRange(offset, offset + len(data))]
    half = max(block, (len(data) // 2) // block * block)
    return _isolate_bad_ranges(fd, data[:half], offset, block) + _isolate_bad_ranges(
        fd, data[half:], offset + half, block
    )


def _merge(ranges: list[ByteRange]) -> tuple[ByteRange, ...]:
    merged: list[ByteRange] = []
    for r in sorted(ranges, key=lambda r: r.start):
        if merged and merged[-1].end >= r.start:
            merged[-1] = ByteRange(merged[-1].start, max(merged[-1].end, r.end))
        else:
            merged.append(r)
    return tuple(merged)


def write_pass(
    fd: int,
    size: int,
    pattern: PassPattern,
    index: int,
    buffer: WriteBuffer,
    options: PassOptions,
    start_offset: int = 0,
) -> PassResult:
    """Overwrite ``[start_offset, size)`` of ``fd`` with ``pattern`` and sync it.

    Write errors are isolated to the smallest failing blocks and recorded; the pass goes
    on unless ``on_error`` is ``abort``. A failed ``fdatasync`` fails the pass and is
    never retried into success. A set ``stop`` event ends the pass after the current
    buffer, synced, marked interrupted.
    """
    started = utc_now()
    stream = pattern.stream()
    offset = start_offset
    unwritten: list[ByteRange] = []
    error: str | None = None
    interrupted = False
    last_writeback = start_offset
    options.progress.start(options.task, size - start_offset, f"pass {index}")
    try:
        while offset < size:
            if options.stop is not None and options.stop.is_set():
                interrupted = True
                break
            length = min(buffer.size, size - offset)
            view = buffer.view(length)
            stream.fill(view, offset)
            try:
                pwrite_all(fd, view, offset)
            except OSError as exc:
                if exc.errno in GONE_ERRNOS:
                    raise MediaGone(os.strerror(exc.errno or errno.EIO)) from exc
                bad = _isolate_bad_ranges(fd, view, offset, options.block_size)
                unwritten.extend(bad)
                if bad and options.on_error == "abort":
                    error = f"write error at offset {bad[0].start}: {os.strerror(exc.errno or 5)}"
                    unwritten.append(ByteRange(offset + length, size))
                    offset = size
                    break
            offset += length
            options.progress.advance(options.task, length)
            if options.buffered and offset - last_writeback >= WRITEBACK_BYTES:
                written = offset - last_writeback
                os.posix_fadvise(fd, last_writeback, written, os.POSIX_FADV_DONTNEED)
                last_writeback = offset
    except MediaGone as gone:
        options.progress.finish(options.task)
        return PassResult(
            index, pattern, size, offset, started, utc_now(), False,
            _merge([*unwritten, ByteRange(offset, size)]),
            f"the medium stopped answering at offset {offset}: {gone}", True, start_offset,
        )  # fmt: skip
    synced = True
    try:
        os.fdatasync(fd)
    except OSError as exc:
        synced = False
        error = error or f"fdatasync failed: {os.strerror(exc.errno or errno.EIO)}"
    if synced and options.on_durable is not None:
        options.on_durable(index, offset)
    options.progress.finish(options.task)
    return PassResult(
        index=index,
        pattern=pattern,
        size=size,
        bytes_written=offset,
        started=started,
        ended=utc_now(),
        synced=synced,
        unwritten=_merge(unwritten),
        error=error,
        interrupted=interrupted,
        resumed_from=start_offset,
    )


def run_passes(
    fd: int,
    size: int,
    passes: tuple[PassPattern, ...],
    options: PassOptions,
    *,
    after_pass: Callable[[PassResult], None] | None = None,
    first_pass: int = 1,
    first_offset: int = 0,
) -> tuple[PassResult, ...]:
    """Run ``passes`` in order, stopping at the first pass that does not complete.

    Only the final pass keeps its key (the verification seed); intermediate keys are
    dropped from the results as soon as their pass is done. ``after_pass`` runs after
    each completed pass (used to verify every pass with ``--verify-all``).
    """
    buffer = WriteBuffer(min(CHUNK_BYTES, (max(size, options.block_size) + 4095) & ~4095))
    results: list[PassResult] = []
    try:
        for index in range(first_pass, len(passes) + 1):
            pattern = passes[index - 1]
            start = first_offset if index == first_pass else 0
            result = write_pass(fd, size, pattern, index, buffer, options, start)
            if after_pass is not None and result.complete:
                after_pass(result)
            if index != len(passes):
                result = _drop_key(result)
            results.append(result)
            if not result.synced or result.interrupted or result.error:
                break
    finally:
        buffer.close()
    return tuple(results)


def _drop_key(result: PassResult) -> PassResult:
    return replace(result, pattern=result.pattern.without_key())
