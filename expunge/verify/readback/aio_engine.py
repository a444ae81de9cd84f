"""The native AIO engine: one thread keeps up to 128 ``O_DIRECT`` reads in flight.

It hashes and compares what completes, while a helper thread computes the expected hashes
in plan order. Where AIO is refused (no context, a submit that fails) it hands the rest of
the reads back to the thread engine.
"""

from __future__ import annotations

import itertools
import mmap
import threading
from collections.abc import Callable

from expunge.verify.readback.groups import ReadGroup
from expunge.verify.readback.job import Job
from expunge.verify.readback.linux_aio import AioReader, buffer_address

_AIO_MAX_DEPTH = 128
_AIO_BUFFER_BYTES = 32 << 20
"""Read buffers in flight at most: 128 small samples, or eight 4 MiB reads."""


def _expect_ahead(job: Job, start: int) -> None:
    """Helper thread: compute expected hashes in plan order while the reads are out."""
    try:
        expected = job.expected_hashes()
        plan = job.tally.plan
        offsets, block, size = plan.offsets, plan.block_size, plan.size
        known = job.tally.expected
        for first, end, _, _ in itertools.islice(job.groups, start, None):
            if job.control.stopped():
                return
            if known[end - 1] is not None:
                continue
            last = offsets[end - 1]
            expected.prepare(offsets[first], min(last + block, size))
            for index in range(first, end):
                if known[index] is None:
                    offset = offsets[index]
                    known[index] = expected.hash(offset, min(block, size - offset))
    except BaseException as exc:
        job.control.fail(exc)


class _Queue:
    """The buffer slots of an AIO context: which are free, which read which group."""

    def __init__(self, reader: AioReader, fd: int, buffer: mmap.mmap, slot_size: int) -> None:
        self._reader = reader
        self._fd = fd
        self._slot_size = slot_size
        self._view = memoryview(buffer)
        self._base = buffer_address(buffer, len(buffer))
        self._free = list(range(reader.depth))
        self._in_flight: dict[int, int] = {}

    @property
    def busy(self) -> bool:
        """Whether reads are in flight."""
        return bool(self._in_flight)

    def submit(self, groups: list[ReadGroup], next_group: int) -> int:
        """Queue reads of groups from ``next_group`` into free slots; how many were queued."""
        if not self._free:
            return 0
        requests = []
        for number in range(next_group, len(groups)):
            if not self._free:
                break
            slot = self._free.pop()
            group = groups[number]
            address = self._base + slot * self._slot_size
            requests.append((slot, self._fd, address, group.length, group.aligned))
        try:
            queued = self._reader.submit(requests)
        except OSError:
            queued = 0
        for slot, *_ in requests[queued:]:
            self._free.append(slot)
        for offset, (slot, *_) in enumerate(requests[:queued]):
            self._in_flight[slot] = next_group + offset
        return queued

    def reap(self, handle: Callable[[int, int, memoryview], None]) -> None:
        """Wait for completions; ``handle(group number, result, slot view)`` each one."""
        size = self._slot_size
        for slot, result in self._reader.reap(1):
            number = self._in_flight.pop(slot)
            self._free.append(slot)
            with self._view[slot * size : (slot + 1) * size] as here:
                handle(number, result, here)

    def release(self) -> None:
        """Release the buffer (once no read is in flight)."""
        self._view.release()


def _pump(job: Job, queue: _Queue, reader: AioReader, start: int) -> int:
    """Keep reads queued and check what completes; the first group not handled."""
    groups = job.groups
    expected = job.expected_hashes()
    slot = job.main_slot

    def complete(number: int, result: int, view: memoryview) -> None:
        job.checker.complete(groups[number], result, view, expected, slot)

    next_group = start
    while True:
        if not job.control.stopped() and next_group < len(groups):
            next_group += queue.submit(groups, next_group)
        if not queue.busy:
            # all done, stopped, or AIO refused: threads take over the rest
            reader.close(idle=True)
            return next_group
        queue.reap(complete)
        job.pump.report()


def run_aio(job: Job, start: int) -> int:
    """Read groups from ``start`` with native AIO; returns the first group not handled
    (``len(groups)`` when done; less if AIO failed and threads must finish the job)."""
    slot_size = max(job.buffer_size, job.source.unit)
    depth = max(4, min(_AIO_MAX_DEPTH, _AIO_BUFFER_BYTES // slot_size))
    depth = min(depth, len(job.groups) - start)
    try:
        reader = AioReader(depth)
    except OSError:
        return start
    helper = threading.Thread(
        target=_expect_ahead, args=(job, start), name="expunge-verify-expect", daemon=True
    )
    try:
        with mmap.mmap(-1, depth * slot_size) as buffer:
            queue = _Queue(reader, job.source.fd, buffer, slot_size)
            helper.start()
            try:
                return _pump(job, queue, reader, start)
            finally:
                reader.close()  # waits for reads still in flight: the buffer outlives them
                queue.release()
    finally:
        reader.close()
        job.control.abort.set()
        if helper.is_alive():
            helper.join()
