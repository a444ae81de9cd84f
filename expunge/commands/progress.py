"""Progress bars on a terminal: one line per job, redrawn in place on stderr, with results
printed above them, so that several bars never garble each other or the results.

The bar block always ends with the cursor at the start of the line below it; to print or
redraw, the block is erased first (cursor up, erase to the end of the screen). A ``^C``
the terminal echoed is erased with it, so Ctrl-C leaves clean lines. Each bar is cut to
the terminal's width: a wrapped line would break the count of lines to erase. Units are
binary everywhere (KiB, MiB, GiB), as in every summary. The text of each bar is in ``bars``.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from expunge.shred.methods import Method

if TYPE_CHECKING:
    from expunge.commands.bars import Bar, BarTask

# Redraw at most this often while bytes advance; a start or an end redraws at once.
REDRAW_SECONDS = 0.1
_ERASE_DOWN = "\x1b[J"
_HEX_TOKEN = re.compile(r"^(?:[0-9a-f]{2})+$")


def _terminal_columns() -> int:
    """The terminal's width (shutil, with its archive modules, is imported only when bars
    are drawn: a run off a terminal draws none)."""
    import shutil

    return shutil.get_terminal_size().columns


class TerminalBars:
    """The bar block on a terminal (nothing at all elsewhere), shared by every thread.

    ``show``/``drop`` set and remove bars by key; ``echo`` prints a line above them (to
    stdout, or to stderr with ``err``) without garbling either.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        width: Callable[[], int] = _terminal_columns,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._enabled = enabled
        self._width = width
        self._clock = clock
        self._bars: dict[str, Bar] = {}
        self._drawn = 0
        self._last_draw = 0.0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether bars are drawn (stderr is a terminal)."""
        return self._enabled

    def show(self, key: str, bar: Bar, *, urgent: bool = True) -> None:
        """Set the bar ``key``; redrawn now, or within ``REDRAW_SECONDS`` unless ``urgent``."""
        if not self._enabled:
            return
        with self._lock:
            self._bars[key] = bar
            now = self._clock()
            if urgent or now - self._last_draw >= REDRAW_SECONDS:
                self._redraw(now)

    def drop(self, key: str) -> None:
        """Remove the bar ``key``."""
        if not self._enabled:
            return
        with self._lock:
            if self._bars.pop(key, None) is not None:
                self._redraw(self._clock())

    def echo(self, line: str, *, err: bool = False) -> None:
        """Print ``line`` above the bars: to stdout, or to stderr with ``err``."""
        out = self._stream if err else sys.stdout
        with self._lock:
            self._erase()
            out.write(line + "\n")
            out.flush()
            if self._enabled:
                self._redraw(self._clock())

    def close(self) -> None:
        """Remove every bar, leaving the cursor at the start of a clean line."""
        with self._lock:
            self._bars.clear()
            self._erase()

    def _erase(self) -> None:
        if not self._enabled:
            return
        up = f"\x1b[{self._drawn}A" if self._drawn else ""
        self._stream.write(f"{up}\r{_ERASE_DOWN}")
        self._stream.flush()
        self._drawn = 0

    def _redraw(self, now: float) -> None:
        # Imported once a bar is drawn: a run off a terminal never gets here.
        from expunge.commands.bars import bar_line

        width = max(self._width(), 20)
        self._erase()
        lines = [bar_line(bar, width) for bar in self._bars.values()]
        if lines:
            self._stream.write("".join(line + "\n" for line in lines))
            self._stream.flush()
        self._drawn = len(lines)
        self._last_draw = now


def stderr_bars() -> TerminalBars:
    """Bars on stderr when it is a terminal; otherwise nothing is drawn."""
    return TerminalBars(sys.stderr, enabled=sys.stderr.isatty())


def token_labels(method: Method) -> tuple[str | None, ...]:
    """Each pass of ``method`` as a bar names its pattern: ``random``, ``ff``, ``c1`` (a
    byte chosen per run); None for passes written in an order shuffled per run."""
    shuffled = range(*method.shuffle) if method.shuffle else range(0)
    labels: list[str | None] = []
    for index, token in enumerate(method.passes):
        if index in shuffled:
            labels.append(None)
        elif token == "R":
            labels.append("random")
        elif _HEX_TOKEN.match(token):
            labels.append(bytes.fromhex(token).hex(" "))
        else:
            labels.append(token)
    return tuple(labels)


class FileProgress:
    """A ``ProgressSink`` for the file and container engines, drawing one bar per task.

    With ``patterns`` (one label per pass of the method), a pass reads ``pass 2/3 (ff)``
    and its time left covers the passes still to come.
    """

    def __init__(self, bars: TerminalBars, patterns: tuple[str | None, ...] = ()) -> None:
        self._bars = bars
        self._patterns = patterns
        self._tasks: dict[str, BarTask] = {}
        self._lock = threading.Lock()

    @property
    def bars(self) -> TerminalBars:
        """The bar block this sink draws on."""
        return self._bars

    def start(self, task: str, total: int, label: str) -> None:
        """Open a bar for ``task``."""
        if not self._bars.enabled:
            return
        # Imported once a bar is drawn: a run off a terminal never gets here.
        from expunge.commands.bars import BarTask

        now = time.monotonic()
        with self._lock:
            self._tasks[task] = state = BarTask.of(task, total, label, self._patterns, now)
        self._bars.show(task, state.bar(now))

    def advance(self, task: str, done: int) -> None:
        """Move ``task``'s bar forward."""
        with self._lock:
            state = self._tasks.get(task)
            if state is None:
                return
            now = time.monotonic()
            state.done += done
            bar = state.bar(now)
        self._bars.show(task, bar, urgent=False)

    def finish(self, task: str) -> None:
        """Close ``task``'s bar."""
        with self._lock:
            self._tasks.pop(task, None)
        self._bars.drop(task)
