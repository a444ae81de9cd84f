"""``expunge station``: the wiping station in a full-screen terminal view.

Modules: ``board`` (what the screen shows, folded from the station's events; pure) and
``app`` (the Textual application drawing it and taking the operator's keys).
"""

from __future__ import annotations

import signal
import sys

import click

from expunge.commands.drive.options import station_filter_options
from expunge.commands.drive.output import watch_line
from expunge.commands.drive.verdict import raise_worst
from expunge.commands.frame import key_notice, open_station
from expunge.commands.options import drive_method_options, home_option, job_options, verify_options
from expunge.core.config import Home
from expunge.core.errors import UsageError
from expunge.drives import WatchFilter
from expunge.shred.methods import Method
from expunge.verify import VerifyOptions
from expunge.workflows import drive_wipe


@click.command("station")
@station_filter_options
@click.option("--allow-fixed", is_flag=True, help="Also take fixed disks (hot-swap bays).")
@click.option("--auto", is_flag=True, help="Start in automatic mode (no confirmation).")
@drive_method_options
@verify_options
@job_options
@home_option
def station_command(
    filters: WatchFilter,
    allow_fixed: bool,
    auto: bool,
    method: Method,
    verify: VerifyOptions,
    home: Home,
) -> None:
    """The wiping station, full screen: every drive plugged in from now on, live.

    One row per drive (node, slot, vendor, model, serial, size, bus, removable,
    rotational), its state and progress, the certificate id when done, and the history.
    Keys: c/Enter confirm the selected drive by typing its token, a toggles automatic mode
    (as 'drive watch --yes'), v shows its certificate, q quits (wipes under way are
    stopped and certified as interrupted, as with Ctrl-C). Drives present at the start are
    never touched.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "needs a terminal for its full-screen view",
            target="expunge station",
            remedy="run it in a terminal (an SSH session works), or use 'drive watch --yes'",
        )
    from expunge.commands.station.app import StationApp  # the TUI only for this command

    plan = drive_wipe.StationPlan(method, verify, filters, allow_fixed=allow_fixed)
    station = open_station(home)
    app = StationApp(plan, station, home, automatic=auto)
    results = app.run() or ()
    key_notice(station)
    if app.failure is not None:
        raise app.failure
    for result in results:
        click.echo(watch_line(result))
    click.echo(f"expunge station: {app.board.totals_line()}", err=True)
    raise_worst(results, [signal.SIGINT] if app.quit_while_busy else [])
