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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from expunge.core.clock import utc_now
from expunge.core.progress import NULL_PROGRESS, ProgressSink
from expunge.shred.patterns import PassPattern
from expunge.shred.report import ByteRange, PassResult

CHUNK_BYTES = 4 << 20
# Start writeback every this many bytes: large enough to keep requests big, small enough
# that dirty pages never pile up into one long stall at the end of the pass.
WRITEBACK_BYTES = 64 << 20
# A medium that has vanished answers every write this way; retrying block by block is
# pointless and would take hours on a large drive.
GONE_ERRNOS = frozenset({errno.ENODEV, errno.ENXIO, errno.ESHUTDOWN})
# Behind the block layer a vanished drive often answers plain EIO, like a bad sector. A
# chunk in which no block takes a write is checked: if a block written earlier no longer
# reads back, the medium is gone. Where no read can tell (a write-only descriptor, the
# page cache), this many bytes refused in a row are taken as a gone medium: bad sectors
# come in small clusters, and isolating a vanished drive block by block would take hours.
DEAD_BYTES_GONE = 16 << 20


class MediaGone(Exception):
    """The medium stopped answering (pulled drive); raised inside the engine only."""


@dataclass
class WriteBuffer:
    """Two page-aligned slots of ``size`` bytes, reused across passes.

    mmap memory is page aligned, so either slot serves ``O_DIRECT``. Two slots let the
    next chunk be generated while the current one is being written.
    """

    size: int = CHUNK_BYTES
    _map: mmap.mmap = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._map = mmap.mmap(-1, 2 * self.size)

    def view(self, length: int, slot: int = 0) -> memoryview:
        """The first ``length`` bytes of slot 0 or 1."""
        start = slot * self.size
        return memoryview(self._map)[start : start + length]

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
    """How a pass writes: chunking, alignment, error policy, and where it reports.

    ``on_durable(pass_index, offset, unwritten)`` is called after each ``fdatasync`` that
    succeeded: every byte of the pass below ``offset`` written in this run is on the
    medium, except the ``unwritten`` ranges. That is at the end of each pass and, when
    ``checkpoint_bytes`` is set, after every that many bytes (rounded up to whole
    buffers), so that a resume journal can follow a long pass.
    """

    block_size: int = 512
    buffered: bool = True
    on_error: str = "continue"
    progress: ProgressSink = NULL_PROGRESS
    task: str = "wipe"
    stop: threading.Event | None = None
    on_durable: Callable[[int, int, tuple[ByteRange, ...]], None] | None = None
    checkpoint_bytes: int = 0


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


def _first_good(offset: int, length: int, bad: list[ByteRange]) -> int | None:
    """The first offset of ``[offset, offset + length)`` outside ``bad`` (sorted), if any."""
    position = offset
    for r in bad:
        if r.start > position:
            return position
        position = max(position, r.end)
    return position if position < offset + length else None


def _reads_back(fd: int, offset: int, block: int) -> bool:
    """Whether the block at ``offset``, written earlier in the pass, still reads.

    A descriptor that cannot read (write-only, a length ``O_DIRECT`` refuses) cannot tell,
    and counts as readable.
    """
    buf = mmap.mmap(-1, max(block, mmap.PAGESIZE))
    try:
        os.preadv(fd, [buf], offset)
    except OSError as exc:
        return exc.errno in (errno.EBADF, errno.EINVAL)
    finally:
        buf.close()
    return True


def _gone_reason(
    fd: int, good_block: int | None, dead_bytes: int, options: PassOptions
) -> str | None:
    """After a chunk where no block took a write: why the medium is gone, or ``None`` if
    these may be bad sectors (``dead_bytes`` refused in a row so far)."""
    if good_block is not None and not _reads_back(fd, good_block, options.block_size):
        return "no block takes a write, and blocks written before no longer read"
    if dead_bytes >= DEAD_BYTES_GONE:
        return f"no block of the last {dead_bytes} bytes takes a write"
    return None


def _make_durable(
    fd: int, options: PassOptions, index: int, offset: int, unwritten: list[ByteRange]
) -> str | None:
    """``fdatasync``, then report the durable offset; the error if the sync failed."""
    try:
        os.fdatasync(fd)
    except OSError as exc:
        return f"fdatasync failed: {os.strerror(exc.errno or errno.EIO)}"
    if options.on_durable is not None:
        options.on_durable(index, offset, _merge(unwritten))
    return None


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
    sync_error: str | None = None
    interrupted = False
    last_writeback = last_checkpoint = start_offset
    previous_window: tuple[int, int] | None = None
    good_block: int | None = None
    dead_bytes = 0
    options.progress.start(options.task, size - start_offset, f"pass {index}")

    def fill(slot: int, at: int) -> memoryview:
        view = buffer.view(min(buffer.size, size - at), slot)
        stream.fill(view, at)
        return view

    # One thread generates the next chunk while this one writes it: the keystream and the
    # write syscall both release the GIL, so generation costs no wall time.
    filler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="expunge-fill")
    slot = 0
    pending = filler.submit(fill, slot, offset) if offset < size else None
    try:
        while offset < size and pending is not None:
            if options.stop is not None and options.stop.is_set():
                interrupted = True
                break
            view = pending.result()
            length = len(view)
            slot ^= 1
            following = offset + length
            pending = filler.submit(fill, slot, following) if following < size else None
            try:
                pwrite_all(fd, view, offset)
                good_block, dead_bytes = offset, 0
            except OSError as exc:
                if exc.errno in GONE_ERRNOS:
                    raise MediaGone(os.strerror(exc.errno or errno.EIO)) from exc
                bad = _isolate_bad_ranges(fd, view, offset, options.block_size)
                first_good = _first_good(offset, length, bad)
                if first_good is not None:
                    good_block, dead_bytes = first_good, 0
                else:
                    dead_bytes += length
                    reason = _gone_reason(fd, good_block, dead_bytes, options)
                    if reason is not None:
                        raise MediaGone(reason) from exc
                unwritten.extend(bad)
                if bad and options.on_error == "abort":
                    error = f"write error at offset {bad[0].start}: {os.strerror(exc.errno or 5)}"
                    unwritten.append(ByteRange(offset + length, size))
                    offset = size
                    break
            offset += length
            options.progress.advance(options.task, length)
            if options.buffered and offset - last_writeback >= WRITEBACK_BYTES:
                # DONTNEED starts writeback of the dirty window just written, and drops the
                # window before it, whose pages are clean by now: the pass never holds more
                # than two windows of page cache, and never pays for a GiB of fresh pages.
                written = offset - last_writeback
                os.posix_fadvise(fd, last_writeback, written, os.POSIX_FADV_DONTNEED)
                if previous_window is not None:
                    os.posix_fadvise(fd, *previous_window, os.POSIX_FADV_DONTNEED)
                previous_window = (last_writeback, written)
                last_writeback = offset
            if (
                options.checkpoint_bytes
                and offset < size
                and offset - last_checkpoint >= options.checkpoint_bytes
            ):
                sync_error = _make_durable(fd, options, index, offset, unwritten)
                if sync_error is not None:
                    break
                last_checkpoint = offset
    except MediaGone as gone:
        filler.shutdown(wait=True)
        options.progress.finish(options.task)
        return PassResult(
            index, pattern, size, offset, started, utc_now(), False,
            _merge([*unwritten, ByteRange(offset, size)]),
            f"the medium stopped answering at offset {offset}: {gone}", True, start_offset,
        )  # fmt: skip
    finally:
        filler.shutdown(wait=True)
    if sync_error is None:
        sync_error = _make_durable(fd, options, index, offset, unwritten)
    options.progress.finish(options.task)
    return PassResult(
        index=index,
        pattern=pattern,
        size=size,
        bytes_written=offset,
        started=started,
        ended=utc_now(),
        synced=sync_error is None,
        unwritten=_merge(unwritten),
        error=error or sync_error,
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
            if index != len(passes) and result.complete:
                # An unfinished pass keeps its key: resuming must rewrite the same stream.
                result = _drop_key(result)
            results.append(result)
            if not result.synced or result.interrupted or result.error:
                break
    finally:
        buffer.close()
    return tuple(results)


def _drop_key(result: PassResult) -> PassResult:
    return replace(result, pattern=result.pattern.without_key())
