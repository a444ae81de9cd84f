"""One verification of an open read descriptor: the probe read, then AIO or threads.

The first read runs alone: it decides between ``O_DIRECT`` and the fallback. The rest go
through native AIO when reading ``O_DIRECT`` (``aio_engine``), else through worker threads
that each read, hash and compare (``threads``); threads also finish what AIO could not.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from datetime import datetime

from expunge.core.blockdev import DIRECT_IO_ALIGN, target_size
from expunge.core.progress import ProgressSink
from expunge.shred.patterns import PassPattern
from expunge.verify.plan import SamplePlan
from expunge.verify.readback.checker import Checker
from expunge.verify.readback.groups import group_reads
from expunge.verify.readback.identity import target_error
from expunge.verify.readback.job import Control, Job, ProgressPump
from expunge.verify.readback.source import MediaSource
from expunge.verify.readback.tally import Tally
from expunge.verify.readback.threads import read_groups, run_threads
from expunge.verify.report import VerificationReport

DEFAULT_WORKERS = 4
"""Threads of the thread engine (buffered fallback, or no native AIO): reads in flight."""

_AIO_ENABLED = True
"""Use native AIO for O_DIRECT reads where the platform has it (tests switch it off)."""


@dataclass(frozen=True, eq=False)  # one call's request (a sink, an event): by identity
class Request:
    """What the caller of ``verify_path`` / ``verify_fd`` asked for."""

    pattern: PassPattern
    plan: SamplePlan
    progress: ProgressSink
    task: str
    stop: threading.Event | None
    workers: int


def _job(source: MediaSource, request: Request) -> Job:
    workers = max(1, request.workers)
    tally = Tally(request.plan, workers + 1)
    groups = group_reads(request.plan, source.unit)
    return Job(
        pattern=request.pattern,
        groups=groups,
        source=source,
        checker=Checker(request.plan, source, tally),
        tally=tally,
        control=Control(request.stop),
        pump=ProgressPump(request.progress, request.task, tally),
        workers=workers,
        buffer_size=max((group.length for group in groups), default=0),
    )


def _run_engines(job: Job) -> None:
    if not job.source.direct:
        job.source.drop_cache()  # O_DIRECT refused at open
    # The first read runs alone: it decides between O_DIRECT and the fallback.
    read_groups(job, job.main_slot, lambda: 0, probe=True)
    job.control.raise_failure()
    start = 1
    if job.source.direct and _AIO_ENABLED and len(job.groups) > 1:
        # Imported here: a small file's one read never needs AIO (nor its ctypes setup).
        from expunge.verify.readback.aio_engine import run_aio

        start = run_aio(job, start)
        job.control.raise_failure()
        job.control.abort.clear()
    if start < len(job.groups) and not job.control.stopped():
        run_threads(job, start)
    job.control.raise_failure()


def read_back(
    fd: int,
    st: os.stat_result,
    direct: bool,
    name: str,
    sync_fd: int | None,
    request: Request,
    started: datetime,
    clock: float,
) -> VerificationReport:
    """Verify the target open as ``fd`` (``direct``: with ``O_DIRECT``) following ``request``.

    ``started`` and ``clock`` (``time.monotonic()``) are when the caller began, so the
    report's times include opening the target.
    """
    try:
        observed_size = target_size(fd, st)
    except OSError as exc:
        raise target_error(name, exc) from exc
    plan = request.plan
    unit = math.lcm(DIRECT_IO_ALIGN, plan.align)
    job = _job(MediaSource(fd, direct, name, sync_fd, unit), request)
    request.progress.start(request.task, plan.bytes_planned, f"verify ({plan.mode}) {name}")
    try:
        if job.groups:
            _run_engines(job)
        job.pump.report(force=True)
    finally:
        request.progress.finish(request.task)
    return job.tally.report(request.pattern, observed_size, job.source.cache_bypass, started, clock)
