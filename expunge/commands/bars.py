"""What a progress bar shows: its content (``Bar``), its one line of text, and the state
of a file task's bar (``BarTask``: rate and time left over the passes still to come).

Apart from ``progress`` (the bar block and the sink) because a run off a terminal draws
no bar: it imports none of this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from expunge.commands.render import human_bytes
from expunge.core.progress import Countdown, RateMeter

_PASS_LABEL = re.compile(r"^pass (\d+)$")
_VERIFY_LABEL = re.compile(r"^verify \((\w+)\)(?: (.*))?$")


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


@dataclass
class BarTask:
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
    ) -> BarTask:
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
