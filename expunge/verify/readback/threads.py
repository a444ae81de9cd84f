"""The thread engine: ``workers`` threads that each read, hash and compare.

Used where native AIO is not: buffered reads (the page-cache fallback), no AIO on the
platform, or AIO refused part way. The first read of every run goes through
``read_groups`` too, alone, as the probe.
"""

from __future__ import annotations

import itertools
import mmap
import threading
from collections.abc import Callable

from expunge.verify.readback.job import PROGRESS_INTERVAL, Job


def read_groups(job: Job, slot: int, next_group: Callable[[], int], probe: bool = False) -> None:
    """Check the groups ``next_group`` hands out until none is left or the run stops.

    With ``probe``, check one group only. Failures are recorded in ``job.control``.
    """
    try:
        with mmap.mmap(-1, max(job.buffer_size, mmap.PAGESIZE)) as buffer:
            view = memoryview(buffer)
            try:
                expected = job.expected_hashes()
                while not job.control.stopped():
                    number = next_group()
                    if number >= len(job.groups):
                        break
                    job.checker.check(job.groups[number], view, expected, slot, probe)
                    if probe:
                        break
            finally:
                view.release()
    except BaseException as exc:
        job.control.fail(exc)


def run_threads(job: Job, start: int) -> None:
    """Check the groups from ``start`` on, with up to ``job.workers`` threads."""
    counter = itertools.count(start)
    threads = [
        threading.Thread(
            target=read_groups,
            args=(job, slot, counter.__next__),
            name=f"expunge-verify-{slot}",
            daemon=True,
        )
        for slot in range(min(job.workers, len(job.groups) - start))
    ]
    for thread in threads:
        thread.start()
    try:
        while alive := [thread for thread in threads if thread.is_alive()]:
            alive[0].join(PROGRESS_INTERVAL)
            job.pump.report()
    finally:
        job.control.abort.set()
        for thread in threads:
            thread.join()
