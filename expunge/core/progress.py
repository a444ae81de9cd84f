"""How the library reports progress without drawing anything: the CLI supplies a sink."""

from __future__ import annotations

import threading
from typing import Protocol


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
    """Receives progress events; implementations must be thread-safe for parallel wipes."""

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
