"""The station's full-screen view (Textual): a row per drive, the history, and the keys an
operator needs. It uses no network port and fits an 80x24 terminal over SSH.

The wiping runs in the station's own threads; their events reach the app as messages
(``post_message`` is thread-safe) and are folded into the ``Board``, which is redrawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from expunge.certificates import render_text
from expunge.commands.frame import checked_certificate
from expunge.commands.station.board import FAILED, INTERRUPTED, REFUSED, SAFE, WAITING, Board, Row
from expunge.core.config import Home
from expunge.core.errors import ExpungeError
from expunge.core.progress import StopRequest
from expunge.workflows import certify, drive_wipe

QUIT_REASON = "station quit"
_STATE_STYLE = {
    SAFE: "bold black on green",
    FAILED: "bold white on red",
    INTERRUPTED: "bold white on red",
    REFUSED: "bold black on yellow",
    WAITING: "bold black on magenta",
}

CSS = """
#header { height: 1; background: $primary; color: $text; }
#drives { height: 1fr; border: round $accent; }
#history { height: 7; border: round $secondary; }
#token { display: none; }
#token.asking { display: block; }
CertificateScreen { align: center middle; }
#certificate { width: 100%; height: 100%; border: round $accent; background: $surface; }
"""


class StationEvent(Message):
    """An event of the station, posted from its threads."""

    def __init__(self, event: drive_wipe.Event) -> None:
        super().__init__()
        self.event = event


class CertificateScreen(ModalScreen[None]):
    """A drive's certificate as ``cert show`` prints it, checked against the station key."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,v", "dismiss", "Back")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def compose(self) -> ComposeResult:
        """The certificate text, scrollable."""
        with VerticalScroll(id="certificate"):
            yield Static(Text(self._text))

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        """Back to the station."""
        self.dismiss(result)


class StationApp(App[tuple[drive_wipe.DriveWipe, ...]]):
    """The station screen over a ``WipingStation``; ``run`` returns the drives' results."""

    CSS = CSS
    TITLE = "expunge station"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c,enter", "confirm", "Confirm"),
        Binding("a", "automatic", "Auto on/off"),
        Binding("v", "certificate", "Certificate"),
        Binding("up,k", "select(-1)", "Up", show=False),
        Binding("down,j", "select(1)", "Down", show=False),
        Binding("q,ctrl+c", "quit_station", "Quit", priority=True),
        Binding("escape", "cancel", "Cancel", show=False),
    ]

    def __init__(
        self,
        plan: drive_wipe.StationPlan,
        station: certify.Station,
        home: Home,
        *,
        automatic: bool = False,
    ) -> None:
        super().__init__()
        self.stop = StopRequest()
        self.wiping = drive_wipe.WipingStation(
            plan, station, events=self, stop=self.stop, automatic=automatic
        )
        self.home = home
        self.board = Board()
        self.selected = 0
        self.quit_while_busy = False
        self.failure: BaseException | None = None
        self._asking: str | None = None

    # --- the station's side -------------------------------------------------------------

    def emit(self, event: drive_wipe.Event) -> None:
        """The station's event sink: called from its threads."""
        self.post_message(StationEvent(event))

    def compose(self) -> ComposeResult:
        """Header, drive rows, history, the token entry and the keys."""
        yield Static(id="header")
        with VerticalScroll(id="drives"):
            yield Static(id="board")
        yield Static(id="history")
        yield Input(id="token")
        yield Footer()

    def on_mount(self) -> None:
        """Start listening, then wait for the station in a thread of its own."""
        self.query_one("#drives").border_title = "Drives"
        self.query_one("#history").border_title = "History"
        try:
            self.wiping.start()
        except ExpungeError as exc:
            self.failure = exc
            self.exit(())
            return
        self.run_worker(self._serve, thread=True, name="station")
        self._draw()

    def on_unmount(self) -> None:
        """However the app ends, the station stops: no wipe outlives its screen."""
        self.stop.request(QUIT_REASON)

    def _serve(self) -> None:
        try:
            results = self.wiping.run()
        except BaseException as exc:  # shown by the command once the screen is gone
            self.failure = exc
            results = ()
        self.call_from_thread(self.exit, results)

    def on_station_event(self, message: StationEvent) -> None:
        """Fold the event into the board and redraw."""
        self.board.apply(message.event)
        self._draw()

    # --- keys ---------------------------------------------------------------------------

    def action_select(self, step: int) -> None:
        """Move the selection among the drive rows."""
        if self.board.rows:
            self.selected = (self.selected + step) % len(self.board.rows)
            self._draw()

    def action_confirm(self) -> None:
        """Ask for the token of the selected drive (or of the first one waiting)."""
        row = self._selected_row()
        waiting = self.board.waiting()
        if row is None or row.state != WAITING:
            row = waiting[0] if waiting else None
        if row is None:
            self.notify("no drive is waiting for confirmation")
            return
        self._asking = row.node
        entry = self.query_one("#token", Input)
        entry.placeholder = f"identity token of {row.node} (shown on its row), then Enter"
        entry.value = ""
        entry.add_class("asking")
        entry.focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        """The operator typed a token: the station checks it."""
        node, self._asking = self._asking, None
        self._close_entry()
        if node is None:
            return
        answered = self.wiping.confirm(node, message.value)
        if answered is not None and not answered.confirmed and not answered.refused:
            left = answered.tries_left
            self.notify(f"that is not the token of {node}; {left} tries left", severity="warning")

    def action_cancel(self) -> None:
        """Put the token entry away."""
        self._asking = None
        self._close_entry()

    def action_automatic(self) -> None:
        """Toggle automatic mode: drives that appear from now on are wiped unconfirmed."""
        self.wiping.set_automatic(not self.wiping.automatic)
        self.board.automatic = self.wiping.automatic
        self._draw()

    def action_certificate(self) -> None:
        """Show the selected drive's certificate."""
        row = self._selected_row()
        if row is None or row.certificate_path is None:
            self.notify("the selected drive has no certificate")
            return
        try:
            check = checked_certificate(Path(row.certificate_path), self.home, (), False)
            text = render_text(check)
        except ExpungeError as exc:
            text = exc.diagnostics()
        self.push_screen(CertificateScreen(text))

    def action_quit_station(self) -> None:
        """Stop watching; wipes under way stop after their buffer, certified as interrupted."""
        self.quit_while_busy = self.quit_while_busy or bool(self.board.busy())
        self.stop.request(QUIT_REASON)
        self.sub_title = "stopping: wipes under way are certified as interrupted"
        self._draw()

    # --- drawing ------------------------------------------------------------------------

    def _selected_row(self) -> Row | None:
        rows = list(self.board.rows.values())
        if not rows:
            return None
        self.selected = min(self.selected, len(rows) - 1)
        return rows[self.selected]

    def _close_entry(self) -> None:
        entry = self.query_one("#token", Input)
        entry.remove_class("asking")
        entry.value = ""

    def _draw(self) -> None:
        self.query_one("#header", Static).update(self._header())
        self.query_one("#board", Static).update(self._rows())
        history = [*self.board.history[-4:], self.board.totals_line()]
        self.query_one("#history", Static).update(Text("\n".join(history), no_wrap=True))

    def _header(self) -> Text:
        board, ident = self.board, self.board.identity
        mode = "AUTO" if board.automatic else "confirm each"
        who = f"{ident.host} · {ident.operator} · key {ident.key_id[:12]}" if ident else ""
        stopping = " · STOPPING" if self.stop.is_set() else ""
        return Text(f" expunge station · {who} · {mode}{stopping}", no_wrap=True)

    def _rows(self) -> Group | Text:
        rows = list(self.board.rows.values())
        if not rows:
            return Text("waiting for drives to be plugged in…", style="dim")
        width = max(self.size.width - 4, 20)
        selected = self._selected_row()
        lines: list[Text] = []
        for row in rows:
            mark = "▶ " if row is selected else "  "
            removed = "  (removed)" if row.removed else ""
            lines.append(_line(f"{mark}{row.node}  {row.facts()}{removed}", "bold"))
            lines.append(_line(f"    {row.whereabouts(width - 4)}", "dim"))
            lines.append(_line(f"  {row.status()}", _STATE_STYLE.get(row.state, "")))
            fraction = row.fraction()
            if fraction is not None:
                lines.append(_line(_bar(fraction, row.rate_and_eta(), width), ""))
        return Group(*lines)


def _line(text: str, style: str) -> Text:
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def _bar(fraction: float, tail: str, width: int) -> str:
    """``  ━━━━━━━━────  45%  512.0 MiB/s  ETA 0:12``, fitted to ``width``."""
    room = max(width - len(tail) - 10, 5)
    filled = int(fraction * room)
    return f"  {'━' * filled}{'─' * (room - filled)} {fraction * 100:3.0f}%  {tail}"
