"""What the read engines share while a verification runs: the reads, stopping, progress."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from expunge.core.progress import ProgressSink
from expunge.shred.patterns import PassPattern
from expunge.verify.readback.checker import Checker
from expunge.verify.readback.expected import ExpectedHashes
from expunge.verify.readback.groups import ReadGroup
from expunge.verify.readback.source import MediaSource
from expunge.verify.readback.tally import Tally

PROGRESS_INTERVAL = 0.05
"""Seconds between progress reports (and between the checks of a waiting thread)."""


class Control:
    """Whether a run must stop: the caller's ``stop`` event, or an engine that failed.

    A thread that fails records its exception and sets ``abort``, which stops the others;
    the calling thread re-raises the first failure.
    """

    def __init__(self, stop: threading.Event | None) -> None:
        self.stop = stop
        self.abort = threading.Event()
        self.failures: list[BaseException] = []

    def stopped(self) -> bool:
        """Whether the threads must stop taking new reads."""
        return self.abort.is_set() or (self.stop is not None and self.stop.is_set())

    def fail(self, exc: BaseException) -> None:
        """An engine thread met ``exc``: stop the run."""
        self.failures.append(exc)
        self.abort.set()

    def raise_failure(self) -> None:
        """Raise what an engine thread met, if anything."""
        if self.failures:
            raise self.failures[0]


class ProgressPump:
    """Reports the bytes of samples done to a ``ProgressSink``, from the calling thread."""

    def __init__(self, progress: ProgressSink, task: str, tally: Tally) -> None:
        self._progress = progress
        self._task = task
        self._tally = tally
        self._reported = 0
        self._last = 0.0

    def report(self, force: bool = False) -> None:
        """Report what was done since the last report, at most every ``PROGRESS_INTERVAL``."""
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_INTERVAL:
            return
        done = self._tally.done()
        if done > self._reported:
            self._progress.advance(self._task, done - self._reported)
            self._reported = done
        self._last = now


@dataclass(eq=False)  # a verification in progress: compared by identity
class Job:
    """One verification as the engines see it: the reads to make and where results go.

    ``workers`` threads of the thread engine use slots ``0 .. workers - 1`` of the tally;
    the calling thread (the probe read, the AIO engine) uses slot ``main_slot``.
    """

    pattern: PassPattern
    groups: list[ReadGroup]
    source: MediaSource
    checker: Checker
    tally: Tally
    control: Control
    pump: ProgressPump
    workers: int
    buffer_size: int
    """The longest read: what a read buffer must hold."""
    fixed_cache: dict[tuple[int, int], bytes] = field(default_factory=dict)

    @property
    def main_slot(self) -> int:
        """The tally slot of the calling thread."""
        return self.workers

    def expected_hashes(self) -> ExpectedHashes:
        """Expected hashes for one thread (hashes of fixed patterns are shared)."""
        return ExpectedHashes(self.pattern, self.fixed_cache)
