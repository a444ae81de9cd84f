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
from expunge.shred.patterns import PassPattern, PatternStream
from expunge.shred.report import ByteRange, PassResult, merge_ranges

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


@dataclass
class _MediumWatch:
    """Tells bad sectors, which a pass writes around, from a medium that has gone."""

    fd: int
    block: int
    good_block: int | None = None
    """The last block that took a write: if it no longer reads, the medium is gone."""
    dead_bytes: int = 0
    """Bytes refused in a row since then."""

    def wrote(self, offset: int) -> None:
        """The block at ``offset`` took its write."""
        self.good_block, self.dead_bytes = offset, 0

    def refused(self, view: memoryview, offset: int, exc: OSError) -> list[ByteRange]:
        """After ``exc`` failed the write of ``view`` at ``offset``: the ranges that stay
        unwritten; ``MediaGone`` when the medium, not a few sectors, refuses."""
        if exc.errno in GONE_ERRNOS:
            raise MediaGone(os.strerror(exc.errno or errno.EIO)) from exc
        bad = _isolate_bad_ranges(self.fd, view, offset, self.block)
        first_good = _first_good(offset, len(view), bad)
        if first_good is not None:
            self.wrote(first_good)
            return bad
        self.dead_bytes += len(view)
        reason = self._gone_reason()
        if reason is not None:
            raise MediaGone(reason) from exc
        return bad

    def _gone_reason(self) -> str | None:
        """After a chunk where no block took a write: why the medium is gone, or ``None``
        if these may be bad sectors."""
        if self.good_block is not None and not _reads_back(self.fd, self.good_block, self.block):
            return "no block takes a write, and blocks written before no longer read"
        if self.dead_bytes >= DEAD_BYTES_GONE:
            return f"no block of the last {self.dead_bytes} bytes takes a write"
        return None


@dataclass
class _Writeback:
    """Starts writeback of a buffered pass as it goes, so the page cache never fills up.

    DONTNEED starts writeback of the dirty window just written, and drops the window before
    it, whose pages are clean by now: the pass never holds more than two windows of page
    cache, and never pays for a GiB of fresh pages.
    """

    fd: int
    last: int
    previous: tuple[int, int] | None = None

    def advance(self, offset: int) -> None:
        """The pass has written up to ``offset``."""
        written = offset - self.last
        if written < WRITEBACK_BYTES:
            return
        os.posix_fadvise(self.fd, self.last, written, os.POSIX_FADV_DONTNEED)
        if self.previous is not None:
            os.posix_fadvise(self.fd, *self.previous, os.POSIX_FADV_DONTNEED)
        self.previous = (self.last, written)
        self.last = offset


class _Chunks:
    """The pattern's bytes chunk by chunk, each one generated while the one before is written.

    The keystream and the write syscall both release the GIL, so generating on a helper
    thread into the other slot of the buffer costs no wall time.
    """

    def __init__(self, buffer: WriteBuffer, stream: PatternStream, size: int, offset: int) -> None:
        self._buffer = buffer
        self._stream = stream
        self._size = size
        self._filler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="expunge-fill")
        self._slot = 0
        self._pending = self._filler.submit(self._fill, 0, offset) if offset < size else None

    @property
    def more(self) -> bool:
        """Whether a chunk is still to come."""
        return self._pending is not None

    def _fill(self, slot: int, at: int) -> memoryview:
        view = self._buffer.view(min(self._buffer.size, self._size - at), slot)
        self._stream.fill(view, at)
        return view

    def take(self, offset: int) -> memoryview:
        """The chunk at ``offset`` (where the previous one ended); the next one is started."""
        assert self._pending is not None
        view = self._pending.result()
        self._slot ^= 1
        following = offset + len(view)
        self._pending = (
            self._filler.submit(self._fill, self._slot, following)
            if following < self._size
            else None
        )
        return view

    def close(self) -> None:
        """Wait for the helper thread: the buffer is not written to after this."""
        self._filler.shutdown(wait=True)


def _make_durable(
    fd: int, options: PassOptions, index: int, offset: int, unwritten: list[ByteRange]
) -> str | None:
    """``fdatasync``, then report the durable offset; the error if the sync failed."""
    try:
        os.fdatasync(fd)
    except OSError as exc:
        return f"fdatasync failed: {os.strerror(exc.errno or errno.EIO)}"
    if options.on_durable is not None:
        options.on_durable(index, offset, merge_ranges(unwritten))
    return None


class _Pass:
    """One pass in progress: where it stands, what it could not write, why it stopped."""

    def __init__(
        self, fd: int, size: int, index: int, options: PassOptions, start_offset: int
    ) -> None:
        self.fd = fd
        self.size = size
        self.index = index
        self.options = options
        self.offset = start_offset
        self.unwritten: list[ByteRange] = []
        self.error: str | None = None
        self.sync_error: str | None = None
        self.interrupted = False
        self._watch = _MediumWatch(fd, options.block_size)
        self._writeback = _Writeback(fd, start_offset) if options.buffered else None
        self._last_checkpoint = start_offset

    def write(self, chunks: _Chunks) -> None:
        """Write chunks until the end of the target, a stop, an abort or a failed sync."""
        options = self.options
        while self.offset < self.size and chunks.more:
            if options.stop is not None and options.stop.is_set():
                self.interrupted = True
                return
            view = chunks.take(self.offset)
            if not self._write_chunk(view):
                return
            self.offset += len(view)
            options.progress.advance(options.task, len(view))
            if self._writeback is not None:
                self._writeback.advance(self.offset)
            if self._checkpoint_due():
                self.sync_error = _make_durable(
                    self.fd, options, self.index, self.offset, self.unwritten
                )
                if self.sync_error is not None:
                    return
                self._last_checkpoint = self.offset

    def _write_chunk(self, view: memoryview) -> bool:
        """Write ``view`` at the current offset; False when the pass is aborted."""
        try:
            pwrite_all(self.fd, view, self.offset)
            self._watch.wrote(self.offset)
        except OSError as exc:
            bad = self._watch.refused(view, self.offset, exc)
            self.unwritten.extend(bad)
            if bad and self.options.on_error == "abort":
                self.error = f"write error at offset {bad[0].start}: {os.strerror(exc.errno or 5)}"
                self.unwritten.append(ByteRange(self.offset + len(view), self.size))
                self.offset = self.size
                return False
        return True

    def _checkpoint_due(self) -> bool:
        every = self.options.checkpoint_bytes
        return bool(
            every and self.offset < self.size and self.offset - self._last_checkpoint >= every
        )

    def finish(self) -> None:
        """The final ``fdatasync`` of the pass, unless a checkpoint's sync failed already."""
        if self.sync_error is None:
            self.sync_error = _make_durable(
                self.fd, self.options, self.index, self.offset, self.unwritten
            )


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
    options.progress.start(options.task, size - start_offset, f"pass {index}")
    run = _Pass(fd, size, index, options, start_offset)
    chunks = _Chunks(buffer, stream, size, start_offset)
    try:
        run.write(chunks)
    except MediaGone as gone:
        chunks.close()
        options.progress.finish(options.task)
        return PassResult(
            index, pattern, size, run.offset, started, utc_now(), False,
            merge_ranges(run.unwritten, [ByteRange(run.offset, size)]),
            f"the medium stopped answering at offset {run.offset}: {gone}", True, start_offset,
        )  # fmt: skip
    finally:
        chunks.close()
    run.finish()
    options.progress.finish(options.task)
    return PassResult(
        index=index,
        pattern=pattern,
        size=size,
        bytes_written=run.offset,
        started=started,
        ended=utc_now(),
        synced=run.sync_error is None,
        unwritten=merge_ranges(run.unwritten),
        error=run.error or run.sync_error,
        interrupted=run.interrupted,
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
