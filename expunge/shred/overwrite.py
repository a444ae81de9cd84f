"""The overwrite engine: one pass of a pattern over an open descriptor, durably.

I/O shape decides the speed: MiB-sized ``pwrite`` calls from one reused, page-aligned
buffer, and one ``fdatasync`` per pass so that every pass reaches the media, not only the
page cache. Where the bytes go (``O_DIRECT`` for the aligned blocks of a file where the
filesystem accepts it, the page cache for the rest) is ``shred/writer.py``; what a failing
medium answers is ``shred/medium.py``.
"""

from __future__ import annotations

import errno
import mmap
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from expunge.core.blockdev import DIRECT_IO_ALIGN, round_up
from expunge.core.clock import utc_now
from expunge.core.progress import NULL_PROGRESS, ProgressSink
from expunge.shred.medium import MediaGone
from expunge.shred.patterns import PassPattern, PatternStream
from expunge.shred.report import ByteRange, PassResult, merge_ranges
from expunge.shred.writer import PassWriter

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

CHUNK_BYTES = 4 << 20


@dataclass(eq=False)  # owns a mapping: compared by identity
class WriteBuffer:
    """Two page-aligned slots of ``size`` bytes (rounded up to 4 KiB), reused across passes.

    mmap memory is page aligned and each slot a whole number of 4 KiB blocks, so either
    slot serves ``O_DIRECT``. Two slots let the next chunk be generated while the current
    one is being written.
    """

    size: int = CHUNK_BYTES
    _map: mmap.mmap = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.size = round_up(max(self.size, 1), DIRECT_IO_ALIGN)
        self._map = mmap.mmap(-1, 2 * self.size)

    def view(self, length: int, slot: int = 0, skip: int = 0) -> memoryview:
        """``length`` bytes of slot 0 or 1, from ``skip`` bytes into it."""
        start = slot * self.size + skip
        return memoryview(self._map)[start : start + length]

    def close(self) -> None:
        """Release the buffer."""
        self._map.close()


@dataclass(frozen=True, eq=False)  # holds callbacks and a sink: compared by identity
class PassOptions:
    """How a pass writes: chunking, alignment, error policy, and where it reports.

    ``buffered``: ``fd`` writes through the page cache. The engine then writes the aligned
    blocks of a regular file through an ``O_DIRECT`` descriptor of its own where the
    filesystem accepts one, and otherwise starts writeback as it goes. Without it, every
    byte goes through ``fd`` as it is (a drive opened ``O_DIRECT``).

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


class _Chunks:
    """The pattern's bytes chunk by chunk, each one generated while the one before is written.

    Chunks end at multiples of the buffer size, and each sits in its slot at its file
    offset modulo that size, so a pass resumed at an unaligned offset still writes aligned
    blocks from aligned memory after its first chunk. The keystream and the write syscall
    both release the GIL, so generating on a helper thread into the other slot of the
    buffer costs no wall time. The first chunk is generated in place (its write has to
    wait for it anyway), so the helper thread starts only when there is a second one: a
    small file starts none.
    """

    def __init__(self, buffer: WriteBuffer, stream: PatternStream, size: int, offset: int) -> None:
        self._buffer = buffer
        self._stream = stream
        self._size = size
        self._filler: ThreadPoolExecutor | None = None
        self._slot = 0
        self._next: Callable[[], memoryview] | None = (
            partial(self._fill, 0, offset) if offset < size else None
        )

    @property
    def more(self) -> bool:
        """Whether a chunk is still to come."""
        return self._next is not None

    def _fill(self, slot: int, at: int) -> memoryview:
        skip = at % self._buffer.size
        view = self._buffer.view(min(self._buffer.size - skip, self._size - at), slot, skip)
        self._stream.fill(view, at)
        return view

    def _ahead(self, slot: int, at: int) -> Callable[[], memoryview]:
        """Start generating the chunk at ``at`` on the helper thread; calling the result
        waits for it."""
        if self._filler is None:
            # Imported here: a pass of one chunk never needs the thread pool.
            from concurrent.futures import ThreadPoolExecutor

            self._filler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="expunge-fill")
        return self._filler.submit(self._fill, slot, at).result

    def take(self, offset: int) -> memoryview:
        """The chunk at ``offset`` (where the previous one ended); the next one is started."""
        assert self._next is not None
        view = self._next()
        self._slot ^= 1
        following = offset + len(view)
        self._next = self._ahead(self._slot, following) if following < self._size else None
        return view

    def close(self) -> None:
        """Wait for the helper thread: the buffer is not written to after this."""
        if self._filler is not None:
            self._filler.shutdown(wait=True)


class _Pass:
    """One pass in progress: where it stands, what it could not write, why it stopped."""

    def __init__(
        self, fd: int, size: int, index: int, options: PassOptions, start_offset: int
    ) -> None:
        self.size = size
        self.index = index
        self.options = options
        self.start_offset = start_offset
        self.offset = start_offset
        self.unwritten: list[ByteRange] = []
        self.error: str | None = None
        self.sync_error: str | None = None
        self.gone: str | None = None
        self.interrupted = False
        self.writer = PassWriter(
            fd, start_offset, size, options.block_size, buffered=options.buffered
        )
        self._last_checkpoint = start_offset

    def write(self, buffer: WriteBuffer, stream: PatternStream) -> None:
        """Write the pass until the end of the target, a stop, an abort, a failed sync or
        a gone medium; then its final sync, unless a sync failed or the medium is gone."""
        chunks = _Chunks(buffer, stream, self.size, self.offset)
        try:
            self._write(chunks)
        except MediaGone as gone:
            self.gone = f"the medium stopped answering at offset {self.offset}: {gone}"
            self.interrupted = True
            self.unwritten.append(ByteRange(self.offset, self.size))
            return
        finally:
            chunks.close()
        if self.sync_error is None:
            self.sync_error = self._make_durable()

    def _write(self, chunks: _Chunks) -> None:
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
            if self._checkpoint_due():
                self.sync_error = self._make_durable()
                if self.sync_error is not None:
                    return
                self._last_checkpoint = self.offset

    def _write_chunk(self, view: memoryview) -> bool:
        """Write ``view`` at the current offset; False when the pass is aborted."""
        bad, error = self.writer.write(view, self.offset)
        self.unwritten.extend(bad)
        if bad and error is not None and self.options.on_error == "abort":
            self.error = f"write error at offset {bad[0].start}: {os.strerror(error)}"
            self.unwritten.append(ByteRange(self.offset + len(view), self.size))
            self.offset = self.size
            return False
        return True

    def _checkpoint_due(self) -> bool:
        every = self.options.checkpoint_bytes
        return bool(
            every and self.offset < self.size and self.offset - self._last_checkpoint >= every
        )

    def _make_durable(self) -> str | None:
        """``fdatasync``, then report the durable offset; the error if the sync failed."""
        try:
            self.writer.sync()
        except OSError as exc:
            return f"fdatasync failed: {os.strerror(exc.errno or errno.EIO)}"
        if self.options.on_durable is not None:
            self.options.on_durable(self.index, self.offset, merge_ranges(self.unwritten))
        return None

    def result(self, pattern: PassPattern, started: datetime) -> PassResult:
        """What the pass did."""
        return PassResult(
            index=self.index,
            pattern=pattern,
            size=self.size,
            bytes_written=self.offset,
            started=started,
            ended=utc_now(),
            synced=self.gone is None and self.sync_error is None,
            unwritten=merge_ranges(self.unwritten),
            error=self.gone or self.error or self.sync_error,
            interrupted=self.interrupted,
            resumed_from=self.start_offset,
            io=self.writer.io,
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
    buffer, synced, marked interrupted; so does a medium that stopped answering, unsynced.
    """
    started = utc_now()
    stream = pattern.stream()
    options.progress.start(options.task, size - start_offset, f"pass {index}")
    run = _Pass(fd, size, index, options, start_offset)
    try:
        run.write(buffer, stream)
    finally:
        run.writer.close()
        options.progress.finish(options.task)
    return run.result(pattern, started)


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
    buffer = WriteBuffer(min(CHUNK_BYTES, max(size, options.block_size)))
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
