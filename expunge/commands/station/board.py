"""What the station screen shows, kept from the events: one row per drive, the history
since the station started, and totals. Pure: the Textual app only draws it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from expunge.commands.bars import clock_text, pass_text
from expunge.commands.render import human_bytes
from expunge.drives import Drive, Place
from expunge.workflows import drive_wipe

HISTORY_KEPT = 200

# Row states, as the operator reads them from a few steps away.
WAITING = "WAITING FOR CONFIRMATION"
STARTING = "STARTING"
WIPING = "WIPING"
VERIFYING = "VERIFYING"
SAFE = "SAFE TO REMOVE"
FAILED = "FAILED"
REFUSED = "REFUSED"
INTERRUPTED = "INTERRUPTED"
_ENDED = {
    "success": SAFE,
    "failed": FAILED,
    "partial": FAILED,
    "interrupted": INTERRUPTED,
    "refused": REFUSED,
}


@dataclass(frozen=True)
class Row:
    """One drive as the screen shows it."""

    drive: Drive
    place: Place
    state: str
    detail: str = ""
    progress: drive_wipe.Progress | None = None
    tries_left: int = 0
    certificate_id: str | None = None
    certificate_path: str | None = None
    removed: bool = False

    @property
    def node(self) -> str:
        """The device node."""
        return self.drive.node

    @property
    def busy(self) -> bool:
        """Being wiped or read back: quitting now interrupts it."""
        return self.state in (STARTING, WIPING, VERIFYING)

    def facts(self) -> str:
        """``14.3 GiB  usb  removable  rotational  SanDisk Cruzer``."""
        d = self.drive
        name = " ".join(p for p in (d.vendor, d.model) if p) or "-"
        kind = "removable" if d.removable else "fixed"
        spin = "rotational" if d.rotational else "non-rotational"
        return f"{human_bytes(d.size)}  {d.bus}  {kind}  {spin}  {name}"

    def whereabouts(self, width: int) -> str:
        """``slot pci-…-usb-0:1:1.0  serial 4C53  token 4C53`` (a loop device: its file),
        cut from the left of the slot or file so the line fits ``width``."""
        d, place = self.drive, self.place
        rest = f"  serial {d.serial or '-'}  token {d.identity_token}"
        where = f"file {place.backing_file}" if place.backing_file else f"slot {place.slot or '-'}"
        room = width - len(rest)
        if len(where) > room:
            where = "…" + where[-max(room - 1, 8) :]
        return where + rest

    def status(self) -> str:
        """The state with what goes with it: pass i/n, the reason, the certificate id."""
        progress = self.progress
        if self.state == WAITING:
            return f"{WAITING}: type {self.drive.identity_token} ({self.tries_left} tries left)"
        if self.state in (WIPING, VERIFYING) and progress is not None:
            what = (
                pass_text(progress.pass_index, progress.passes, progress.pattern)
                if progress.phase == "writing"
                else f"read-back of pass {progress.pass_index}"
            )
            return f"{self.state} {what}"
        if self.state in (SAFE, INTERRUPTED, FAILED) and self.certificate_id:
            extra = f": {self.detail}" if self.detail and self.state != SAFE else ""
            return f"{self.state}{extra}  certificate {self.certificate_id}"
        return f"{self.state}: {self.detail}" if self.detail else self.state

    def rate_and_eta(self) -> str:
        """``512.0 MiB/s  ETA 1:12`` while there is progress to tell."""
        progress = self.progress
        if progress is None or not self.busy:
            return ""
        parts = []
        if progress.rate is not None:
            parts.append(f"{human_bytes(progress.rate)}/s")
        if progress.eta is not None:
            parts.append(f"ETA {clock_text(progress.eta)}")
        return "  ".join(parts)

    def fraction(self) -> float | None:
        """How far the current pass or read-back is, while there is one."""
        progress = self.progress
        if progress is None or not self.busy or not progress.total:
            return None
        return min(progress.done / progress.total, 1.0)


@dataclass
class Board:
    """The station screen's state: rows by node (in the order drives appeared), the
    history, and totals by outcome."""

    identity: drive_wipe.StationIdentity | None = None
    watching: drive_wipe.Watching | None = None
    automatic: bool = False
    rows: dict[str, Row] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    totals: Counter[str] = field(default_factory=Counter)
    written: int = 0

    def apply(self, event: drive_wipe.Event) -> None:
        """Fold one event into the screen's state."""
        stamp = event.at.astimezone().strftime("%H:%M:%S")
        if isinstance(event, drive_wipe.Watching):
            self.watching, self.identity, self.automatic = event, event.station, event.automatic
            alone = len(event.left_alone())
            self._log(stamp, f"watching; {len(event.present)} disk(s) present at start: left alone")
            if alone:
                self._log(stamp, f"{alone} of them match the filters: they will not be touched")
        elif isinstance(event, drive_wipe.Attached):
            self.rows[event.node] = Row(event.drive, event.place, STARTING)
            self._log(stamp, f"{event.node} attached ({human_bytes(event.drive.size)})")
        elif isinstance(event, drive_wipe.Ignored):
            self._log(stamp, f"{event.node} left alone: {event.reason}")
        elif isinstance(event, drive_wipe.DriveEvent):
            self._drive_event(stamp, event)

    def _drive_event(self, stamp: str, event: drive_wipe.DriveEvent) -> None:
        row = self.rows.get(event.node)
        if row is None:
            return
        if isinstance(event, drive_wipe.ConfirmNeeded):
            row = replace(row, state=WAITING, tries_left=event.tries_left)
        elif isinstance(event, drive_wipe.Started):
            row = replace(row, state=WIPING, detail="")
            self._log(stamp, f"{event.node} wiping: {event.method}, {event.passes} pass(es)")
        elif isinstance(event, drive_wipe.Progress):
            state = WIPING if event.phase == "writing" else VERIFYING
            row = replace(row, state=state, progress=event)
        elif isinstance(event, drive_wipe.Verifying):
            row = replace(row, state=VERIFYING)
        elif isinstance(event, drive_wipe.Refused):
            row = replace(row, state=REFUSED, detail=_reason(event))
        elif isinstance(event, drive_wipe.Finished):
            row = self._finished(stamp, row, event.result)
        elif isinstance(event, drive_wipe.Detached):
            row = replace(row, removed=True)
            self._log(stamp, f"{event.node} removed")
        self.rows[event.node] = row

    def _finished(self, stamp: str, row: Row, result: drive_wipe.DriveWipe) -> Row:
        state = _ENDED[result.status]
        self.totals[state] += 1
        if result.wipe is not None:
            self.written += sum(p.bytes_written - p.resumed_from for p in result.wipe.passes)
        detail = row.detail
        if result.problem is not None and state != REFUSED:
            detail = result.problem.message
        cert = result.certificate
        said = f": {detail}" if state == REFUSED and detail else ""
        said += f" {result.certificate_id}" if cert else ""
        self._log(stamp, f"{result.node} {result.status}{said}")
        return replace(
            row,
            state=state,
            detail=detail,
            certificate_id=result.certificate_id,
            certificate_path=str(cert.path) if cert else None,
        )

    def totals_line(self) -> str:
        """``2 safe to remove, 1 failed, 1 refused; 1.5 GiB written``."""
        counted = [f"{n} {state.lower()}" for state, n in sorted(self.totals.items())]
        return (
            f"{', '.join(counted) or 'nothing finished yet'}; {human_bytes(self.written)} written"
        )

    def waiting(self) -> list[Row]:
        """Rows waiting for their token, in the order they appeared."""
        return [r for r in self.rows.values() if r.state == WAITING and not r.removed]

    def busy(self) -> list[Row]:
        """Rows being wiped or read back."""
        return [r for r in self.rows.values() if r.busy]

    def _log(self, stamp: str, text: str) -> None:
        self.history.append(f"{stamp} {text}")
        del self.history[:-HISTORY_KEPT]


def _reason(event: drive_wipe.Refused) -> str:
    if event.reasons:
        return "; ".join(r.text for r in event.reasons)
    return event.error.split(": ", 1)[-1]
