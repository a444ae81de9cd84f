"""One drive job's progress as events: the engines' byte counts turned into ``progress``
(pass i of n, its pattern, throughput, time left for the whole job) at most once a second.

The overwrite engine and the read-back engine report through ``ProgressSink``; a tracker
gives each of them a sink of its own (``writing``, ``verifying``), so it always knows
which phase a byte belongs to, and counts the passes as they start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from expunge.core.clock import utc_now
from expunge.core.progress import Countdown, RateMeter
from expunge.workflows.drive_wipe.events import EventSink, Progress

EMIT_SECONDS = 1.0
WRITING = "writing"
VERIFYING = "verifying"


@dataclass(frozen=True)
class JobPlan:
    """What one drive job will do: ``passes`` of ``size`` bytes each, read back
    ``verify_bytes`` after the last pass (after every pass with ``verify_every``)."""

    passes: int
    size: int
    verify_bytes: int = 0
    verify_every: bool = False


@dataclass(frozen=True)
class Course:
    """Where the writing begins (pass ``first_pass``, resuming an earlier run or not) and
    the pattern of every pass as written (None where it is not known in advance)."""

    first_pass: int = 1
    patterns: tuple[str | None, ...] = ()

    def pattern(self, index: int) -> str | None:
        """The label of pass ``index`` (counting from 1), if known."""
        return self.patterns[index - 1] if 0 < index <= len(self.patterns) else None


class JobTracker:
    """Receives one drive's progress from the engines and emits ``Progress`` events.

    ``course`` is asked once, when the first pass starts: by then the wipe journal says
    where this run begins and which patterns it writes. The time left covers every pass
    and read-back still to come; it is re-estimated at each pass and does not rise within
    one (see ``Countdown``).
    """

    def __init__(
        self,
        node: str,
        plan: JobPlan,
        events: EventSink,
        course: Callable[[], Course],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.node = node
        self.plan = plan
        self._events = events
        self._course_of = course
        self._course: Course | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._meter = RateMeter()
        self._countdown = Countdown()
        self._rates: dict[str, float] = {}
        self._phase = WRITING
        self._pass = 0
        self._done = 0
        self._total = 0
        self._last_emit: float | None = None
        self.writing = _PhaseSink(self, WRITING)
        self.verifying = _PhaseSink(self, VERIFYING)

    @property
    def current_pass(self) -> int:
        """The pass being written, or last written (0 before the first)."""
        return self._pass

    def pattern(self, index: int) -> str | None:
        """The pattern label of pass ``index``, once writing has begun."""
        return self._course.pattern(index) if self._course is not None else None

    def begin(self, phase: str, total: int) -> None:
        """A pass (``writing``) or a read-back (``verifying``) of ``total`` bytes begins."""
        with self._lock:
            now = self._clock()
            if phase == WRITING:
                if self._course is None:
                    self._course = self._course_of()
                    self._pass = self._course.first_pass
                    # The first report waits a whole interval: a rate taken over the first
                    # buffer or two says more about the page cache than about the drive.
                    self._last_emit = now
                else:
                    self._pass += 1
            self._phase, self._done, self._total = phase, 0, total
            self._meter.begin(now)
            self._countdown.reset()

    def advance(self, phase: str, count: int) -> None:
        """``count`` more bytes of the current pass or read-back are done."""
        with self._lock:
            if phase != self._phase:
                return
            self._done += count
            now = self._clock()
            rate = self._meter.rate(now, self._done)
            if rate is not None:
                self._rates[phase] = rate
            if self._last_emit is None or now - self._last_emit < EMIT_SECONDS:
                return
            self._last_emit = now
            event = self._progress(now)
        self._events.emit(event)

    def _progress(self, now: float) -> Progress:
        rate = self._rates.get(self._phase)
        eta = self._time_left()
        return Progress(
            at=utc_now(),
            node=self.node,
            phase=self._phase,
            pass_index=self._pass,
            passes=self.plan.passes,
            pattern=self.pattern(self._pass),
            done=self._done,
            total=self._total,
            rate=rate,
            eta=self._countdown.show(now, eta) if eta is not None else None,
        )

    def _time_left(self) -> float | None:
        """Seconds for the rest of the job at the rates seen; a read-back not yet timed is
        counted at the writing rate (reads are rarely slower than writes)."""
        write_rate = self._rates.get(WRITING)
        if write_rate is None:
            return None
        verify_rate = self._rates.get(VERIFYING, write_rate)
        plan, left = self.plan, self._total - self._done
        passes_after = max(plan.passes - self._pass, 0)
        if self._phase == WRITING:
            write = left + passes_after * plan.size
            checks = passes_after + 1 if plan.verify_every else 1
            read = checks * plan.verify_bytes
        else:
            write = passes_after * plan.size
            checks = passes_after if plan.verify_every else 0
            read = left + checks * plan.verify_bytes
        return write / write_rate + read / verify_rate


class _PhaseSink:
    """The ``ProgressSink`` one engine reports to: every call belongs to ``phase``."""

    def __init__(self, tracker: JobTracker, phase: str) -> None:
        self._tracker = tracker
        self._phase = phase

    def start(self, task: str, total: int, label: str) -> None:
        """A pass or read-back begins."""
        self._tracker.begin(self._phase, total)

    def advance(self, task: str, done: int) -> None:
        """More bytes done."""
        self._tracker.advance(self._phase, done)

    def finish(self, task: str) -> None:
        """The pass or read-back ended; ``pass-done`` comes from its result."""
