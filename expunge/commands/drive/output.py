"""How drive jobs reach the terminal and scripts: JSON Lines events, or bars and text lines.

Both are event sinks, fed from the wipe threads as things happen: a drive's result is
printed the moment it is certified, not when every drive is done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from expunge.commands.bars import Bar, pass_text
from expunge.commands.destruction_text import queued_line
from expunge.commands.drive.sanitize import sanitize_lines
from expunge.commands.json_output import emit_json_line
from expunge.commands.progress import TerminalBars
from expunge.commands.render import human_bytes, unwritten_lines, verification_line
from expunge.drives import Drive, Place
from expunge.workflows import drive_wipe

MARK = {
    "success": "wiped",
    "partial": "PARTIAL",
    "failed": "FAILED",
    "interrupted": "INTERRUPTED",
    "refused": "REFUSED",
}


def vendor_model(drive: Drive) -> str:
    """``Acme Stick``, or ``-`` when the drive names neither."""
    return " ".join(p for p in (drive.vendor, drive.model) if p) or "-"


def describe(drive: Drive, place: Place | None = None) -> str:
    """``/dev/sdb (14.3 GiB, usb, SanDisk Cruzer)``, with a loop device's backing file."""
    behind = f", file {place.backing_file}" if place is not None and place.backing_file else ""
    return f"{drive.node} ({human_bytes(drive.size)}, {drive.bus}, {vendor_model(drive)}{behind})"


def result_lines(result: drive_wipe.DriveWipe) -> Iterator[str]:
    """What one drive's wipe did, its read-backs, notes, errors and certificate."""
    head = f"{MARK[result.status]}: {result.node} [{result.token}]"
    wipe = result.wipe
    if result.sanitize is not None:
        yield f"{head} {human_bytes(result.drive.size)} {result.drive.bus}"
        yield from sanitize_lines(result.sanitize)
        yield from _closing_lines(result)
        return
    if wipe is None:
        problem = result.problem.diagnostics() if result.problem else "not wiped"
        yield f"{head}: {problem}"
        return
    seconds = sum(p.seconds for p in wipe.passes)
    written = sum(p.bytes_written - p.resumed_from for p in wipe.passes)
    rate = f", {human_bytes(written / seconds)}/s" if seconds else ""
    yield (
        f"{head} {human_bytes(wipe.identity.size)} {result.drive.bus}, {wipe.method}, "
        f"{len(wipe.passes)}/{wipe.planned_passes} passes{rate}"
    )
    for check in result.verifications:
        yield f"  {verification_line(check)}"
    for lim in wipe.limitations:
        yield f"  note: {lim.text}"
    for err in (*wipe.errors, *(p.error for p in wipe.passes if p.error)):
        yield f"  error: {err}"
    for line in unwritten_lines(wipe.unwritten):
        yield f"  {line}"
    for event in result.journal_events:
        yield f"  {event.kind} at pass {event.pass_index}, offset {event.offset}"
    if result.status == "interrupted":
        yield f"  to finish: expunge drive wipe --resume {result.node} (same options)"
    yield from _closing_lines(result)


def _closing_lines(result: drive_wipe.DriveWipe) -> Iterator[str]:
    if result.problem is not None:
        yield f"  error: {result.problem.diagnostics()}"
    if result.certificate is not None:
        yield f"  certificate ({result.certificate.outcome}): {result.certificate.path}"
    if result.ledger_queued is not None:
        yield f"  {queued_line(result.ledger_queued)}"


def watch_line(result: drive_wipe.DriveWipe) -> str:
    """``drive watch``'s one line per drive: ``NODE TOKEN OUTCOME CERTIFICATE (why)``."""
    cert = str(result.certificate.path) if result.certificate else "-"
    why = f" ({result.problem.diagnostics()})" if result.problem else ""
    return f"{result.node} {result.token} {result.status} {cert}{why}"


class JsonLines:
    """``--json``: every event as one ``drive-event`` document per line on stdout, flushed
    at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def emit(self, event: drive_wipe.Event) -> None:
        """Write ``event`` as one line."""
        with self._lock:
            emit_json_line("drive-event", event.to_dict())


class DriveBars:
    """One bar per drive on a terminal, from ``progress`` events: ``pass 2/3 (ff)``, bytes,
    throughput and the time left for the whole job."""

    def __init__(self, bars: TerminalBars) -> None:
        self.bars = bars
        self._modes: dict[str, str] = {}

    def emit(self, event: drive_wipe.Event) -> None:
        """Draw, move or remove the bar of the event's drive."""
        if isinstance(event, drive_wipe.Verifying):
            self._modes[event.node] = event.mode
        elif isinstance(event, drive_wipe.Started):
            label = pass_text(1, event.passes, None)
            self.bars.show(event.node, Bar(event.node, label, 0, event.drive.size))
        elif isinstance(event, drive_wipe.Progress):
            if event.phase == "verifying":
                label = f"verify ({self._modes.get(event.node, 'read-back')})"
            else:
                label = pass_text(event.pass_index, event.passes, event.pattern)
            bar = Bar(event.node, label, event.done, event.total, event.rate, event.eta)
            self.bars.show(event.node, bar)
        elif isinstance(event, drive_wipe.Finished):
            self.bars.drop(event.node)


class WipeText:
    """``drive wipe`` without ``--json``: bars, and each drive's result lines on stdout the
    moment it finishes."""

    def __init__(self, bars: TerminalBars) -> None:
        self._bars = DriveBars(bars)

    def emit(self, event: drive_wipe.Event) -> None:
        """Bars from progress; the result lines from ``finished``."""
        self._bars.emit(event)
        if isinstance(event, drive_wipe.Finished):
            for line in result_lines(event.result):
                self._bars.bars.echo(line)


class WatchText:
    """``drive watch`` without ``--json``: bars, what the station sees on stderr, and one
    result line per drive on stdout (``NODE TOKEN OUTCOME CERTIFICATE``)."""

    def __init__(self, bars: TerminalBars) -> None:
        self._bars = DriveBars(bars)

    def emit(self, event: drive_wipe.Event) -> None:
        """Bars from progress; a notice for each drive seen; the result line."""
        self._bars.emit(event)
        bars = self._bars.bars
        for notice in watch_notices(event):
            bars.echo(f"expunge: {notice}", err=True)
        if isinstance(event, drive_wipe.Finished):
            bars.echo(watch_line(event.result))


class WatchStart:
    """``drive watch --json``: the station's first words still go to stderr for people."""

    def __init__(self, bars: TerminalBars) -> None:
        self._bars = bars

    def emit(self, event: drive_wipe.Event) -> None:
        """Print the ``watching`` lines; everything else is in the JSON stream."""
        if isinstance(event, drive_wipe.Watching):
            for line in watching_lines(event):
                self._bars.echo(f"expunge: {line}", err=True)


def watch_notices(event: drive_wipe.Event) -> Iterator[str]:
    """What an operator is told on stderr as the station sees drives come and go."""
    if isinstance(event, drive_wipe.Watching):
        yield from watching_lines(event)
    elif isinstance(event, drive_wipe.Attached):
        yield f"attached: {describe(event.drive, event.place)}, token {event.drive.identity_token}"
    elif isinstance(event, drive_wipe.Ignored):
        yield f"left alone: {describe(event.drive, event.place)}: {event.reason}"
    elif isinstance(event, drive_wipe.Refused):
        yield f"REFUSED: {event.error}"
    elif isinstance(event, drive_wipe.Finished) and event.result.status == "success":
        yield f"{event.node}: wiped and certified, SAFE TO REMOVE"
    elif isinstance(event, drive_wipe.Detached):
        yield f"removed: {event.node}"


def watching_lines(event: drive_wipe.Watching) -> Iterator[str]:
    """The station's first words: what it takes, who signs, what it leaves alone."""
    filters = event.filters
    taking = "any bus" if filters.buses is None else "bus " + ", ".join(sorted(filters.buses))
    if filters.devices:
        taking += ", only " + " ".join(filters.devices)
    yield f"watching for drives ({taking}, method {event.method}); Ctrl-C stops"
    station = event.station
    yield f"station {station.host}, operator {station.operator}, key {station.key_id}"
    alone = event.left_alone()
    others = len(event.present) - len(alone)
    for drive, place in alone:
        yield f"present at start, will not be touched: {describe(drive, place)}"
    yield f"{others} other disk(s) present do not match the filters; they will not be touched"


class Fanout:
    """Hands every event to several sinks, in order."""

    def __init__(self, *sinks: drive_wipe.EventSink) -> None:
        self._sinks: Sequence[drive_wipe.EventSink] = sinks

    def emit(self, event: drive_wipe.Event) -> None:
        """Give ``event`` to each sink."""
        for sink in self._sinks:
            sink.emit(event)
