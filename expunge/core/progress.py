"""How the library reports progress without drawing anything: the CLI supplies a sink.

Two parts: the ``ProgressSink`` protocol the engines call as bytes are written or read
back, and the arithmetic every view of a long job shares (throughput since a pass began,
and a time left that does not jump about).
"""

from __future__ import annotations

import threading
from typing import Protocol

# The time left shown is allowed to rise within a pass only when the estimate exceeds it
# by this factor plus ``_RISE_SLACK`` seconds: a drive that really slowed down (a flash
# stick whose write cache filled), not the jitter of a page cache or a periodic sync.
_RISE_FACTOR = 2.0
_RISE_SLACK = 5.0


class StopRequest(threading.Event):
    """Asks long work to stop after the current buffer, and says why (``SIGINT``...)."""

    def __init__(self) -> None:
        super().__init__()
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        """Ask to stop; the first reason given is kept."""
        if self.reason is None:
            self.reason = reason
        self.set()


class ProgressSink(Protocol):
    """Receives progress events; implementations must be thread-safe for parallel wipes.

    The engines name each unit of work with a ``label``: ``pass N`` for the N-th pass of
    an overwrite (counting from 1), ``verify (MODE) NAME`` for a read-back.
    """

    def start(self, task: str, total: int, label: str) -> None:
        """A unit of work named ``task`` begins, ``total`` bytes long."""

    def advance(self, task: str, done: int) -> None:
        """``done`` more bytes of ``task`` are finished."""

    def finish(self, task: str) -> None:
        """``task`` ended (successfully or not)."""


class NullProgress:
    """A sink that ignores everything: the default for library callers."""

    def start(self, task: str, total: int, label: str) -> None:
        """Ignore the start of a task."""

    def advance(self, task: str, done: int) -> None:
        """Ignore progress."""

    def finish(self, task: str) -> None:
        """Ignore the end of a task."""


NULL_PROGRESS: ProgressSink = NullProgress()


class RateMeter:
    """Bytes per second since the current segment (a pass, a read-back) began.

    The average over the whole segment, not the last moment: a drive's speed seen
    through the page cache comes in bursts, and the average is what predicts the end.
    """

    def __init__(self) -> None:
        self._origin: tuple[float, int] | None = None

    def begin(self, now: float, done: int = 0) -> None:
        """A new segment begins at monotonic time ``now`` with ``done`` bytes behind it."""
        self._origin = (now, done)

    def rate(self, now: float, done: int) -> float | None:
        """Bytes per second since the segment began; None before there is anything to tell."""
        if self._origin is None:
            return None
        began, base = self._origin
        seconds, count = now - began, done - base
        if seconds <= 0 or count <= 0:
            return None
        return count / seconds


class Countdown:
    """The time left as people are shown it: it does not rise within a segment.

    A new estimate above the running countdown is held down to it (noise), unless it
    exceeds it by more than a factor of two plus a few seconds: then the job really slowed
    down and the countdown restarts from the estimate. ``reset`` starts a new segment.
    """

    def __init__(self) -> None:
        self._last: tuple[float, float] | None = None

    def reset(self) -> None:
        """Forget the running countdown (a pass boundary): the next estimate is shown as is."""
        self._last = None

    def show(self, now: float, estimate: float) -> float:
        """The seconds left to show at monotonic time ``now``, given a fresh ``estimate``."""
        estimate = max(estimate, 0.0)
        if self._last is not None:
            then, shown = self._last
            ceiling = max(shown - (now - then), 0.0)
            if ceiling < estimate <= _RISE_FACTOR * ceiling + _RISE_SLACK:
                estimate = ceiling
        self._last = (now, estimate)
        return estimate
