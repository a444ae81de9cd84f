"""Progress bars on a terminal: one line per job, redrawn in place on stderr, with results
printed above them, so that several bars never garble each other or the results.

The bar block always ends with the cursor at the start of the line below it; to print or
redraw, the block is erased first (cursor up, erase to the end of the screen). A ``^C``
the terminal echoed is erased with it, so Ctrl-C leaves clean lines. Each bar is cut to
the terminal's width: a wrapped line would break the count of lines to erase. Units are
binary everywhere (KiB, MiB, GiB), as in every summary.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from expunge.commands.render import human_bytes
from expunge.core.progress import Countdown, RateMeter
from expunge.shred.methods import Method

# Redraw at most this often while bytes advance; a start or an end redraws at once.
REDRAW_SECONDS = 0.1
_ERASE_DOWN = "\x1b[J"
_PASS_LABEL = re.compile(r"^pass (\d+)$")
_VERIFY_LABEL = re.compile(r"^verify \((\w+)\)(?: (.*))?$")
_HEX_TOKEN = re.compile(r"^(?:[0-9a-f]{2})+$")


@dataclass(frozen=True)
class Bar:
    """One bar's content: who, what (``pass 2/3 (ff)``), how far, how fast, how long."""

    name: str
    label: str
    done: int
    total: int
    rate: float | None = None
    eta: float | None = None


def clock_text(seconds: float) -> str:
    """``75`` -> ``1:15``, ``3725`` -> ``1:02:05``."""
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def pass_text(index: int, count: int | None, pattern: str | None) -> str:
    """``pass 2/3 (ff)``; the count and the pattern only where known."""
    text = f"pass {index}/{count}" if count else f"pass {index}"
    return f"{text} ({pattern})" if pattern else text


def bytes_of(done: int, total: int) -> str:
    """``292.0/600.0 MiB``: both counts in the total's binary unit."""
    unit, scale = "B", 1
    for name in ("KiB", "MiB", "GiB", "TiB"):
        if total < scale * 1024:
            break
        unit, scale = name, scale * 1024
    if unit == "B":
        return f"{done}/{total} B"
    return f"{done / scale:.1f}/{total / scale:.1f} {unit}"


def bar_line(bar: Bar, width: int) -> str:
    """``bar`` as one line of at most ``width - 1`` characters (the last column is left
    free: some terminals wrap on it)."""
    name = bar.name if len(bar.name) <= 18 else "…" + bar.name[-17:]
    fraction = min(bar.done / bar.total, 1.0) if bar.total else 0.0
    tail = f"{fraction * 100:3.0f}% {bytes_of(bar.done, bar.total)}"
    if bar.rate is not None:
        tail += f" {human_bytes(bar.rate)}/s"
    if bar.eta is not None:
        tail += f" ETA {clock_text(bar.eta)}"
    head = f"{name} {bar.label}"
    room = width - 1 - len(head) - len(tail) - 2
    if room >= 8:
        filled = int(fraction * room)
        return f"{head} {'█' * filled}{'░' * (room - filled)} {tail}"
    return f"{head} {tail}"[: max(width - 1, 0)]


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
        self._tasks: dict[str, _Task] = {}
        self._lock = threading.Lock()

    @property
    def bars(self) -> TerminalBars:
        """The bar block this sink draws on."""
        return self._bars

    def start(self, task: str, total: int, label: str) -> None:
        """Open a bar for ``task``."""
        if not self._bars.enabled:
            return
        now = time.monotonic()
        with self._lock:
            self._tasks[task] = state = _Task.of(task, total, label, self._patterns, now)
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


@dataclass
class _Task:
    """One file task's bar: its label, bytes, and the rest of its passes for the ETA."""

    name: str
    label: str
    total: int
    later_bytes: int
    meter: RateMeter
    countdown: Countdown
    done: int = 0

    @classmethod
    def of(
        cls, task: str, total: int, label: str, patterns: tuple[str | None, ...], now: float
    ) -> _Task:
        name, shown, later = task, label, 0
        if match := _PASS_LABEL.match(label):
            index = int(match.group(1))
            count = len(patterns) or None
            pattern = patterns[index - 1] if 0 < index <= len(patterns) else None
            shown = pass_text(index, count, pattern)
            later = max(len(patterns) - index, 0) * total
        elif match := _VERIFY_LABEL.match(label):
            name = match.group(2) or task
            shown = f"verify ({match.group(1)})"
        meter = RateMeter()
        meter.begin(now)
        return cls(name, shown, total, later, meter, Countdown())

    def bar(self, now: float) -> Bar:
        rate = self.meter.rate(now, self.done)
        eta = None
        if rate:
            left = self.total - self.done + self.later_bytes
            eta = self.countdown.show(now, left / rate)
        return Bar(self.name, self.label, self.done, self.total, rate, eta)
