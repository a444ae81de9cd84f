"""``expunge drive watch``: the station without a screen, wiping every drive it takes."""

from __future__ import annotations

import click

from expunge.commands.drive.options import nowait_option, station_filter_options
from expunge.commands.drive.output import DriveBars, Fanout, JsonLines, WatchStart, WatchText
from expunge.commands.drive.verdict import raise_worst
from expunge.commands.frame import key_notice, open_station, stop_on_signals
from expunge.commands.options import (
    drive_method_options,
    home_option,
    job_options,
    json_option,
    verify_options,
)
from expunge.commands.progress import stderr_bars
from expunge.core.config import Home
from expunge.core.errors import RefusedError
from expunge.drives import WatchFilter
from expunge.shred.methods import Method
from expunge.verify import VerifyOptions
from expunge.workflows import drive_wipe


@click.command("watch")
@station_filter_options
@click.option("--allow-fixed", is_flag=True, help="Also take fixed disks (hot-swap bays).")
@click.option("--once", is_flag=True, help="Stop after one drive.")
@click.option(
    "--yes",
    "--autonuke",
    "yes",
    is_flag=True,
    help="Required: drives are wiped without prompting (--autonuke, as nwipe).",
)
@nowait_option
@drive_method_options
@verify_options
@json_option
@job_options
@home_option
def watch_cmd(
    filters: WatchFilter,
    allow_fixed: bool,
    once: bool,
    yes: bool,
    method: Method,
    verify: VerifyOptions,
    as_json: bool,
    home: Home,
) -> None:
    """Station mode: wipe and certify every drive plugged in from now on.

    Drives present at the start are listed and never touched. Each new drive that passes
    the filters and the interlocks is wiped without a prompt, several at once, journaled
    (resume with 'drive wipe --resume'); one line per drive on stdout the moment it is
    certified, or with --json every step as a JSON line. Ctrl-C stops cleanly.
    """
    if not yes:
        raise RefusedError(
            "station mode wipes every drive plugged in without asking",
            target="drive watch",
            remedy="pass --yes to start it (or run 'expunge station' to confirm each drive)",
        )
    plan = drive_wipe.StationPlan(method, verify, filters, allow_fixed=allow_fixed, once=once)
    station = open_station(home)
    bars = stderr_bars()
    events = Fanout(JsonLines(), DriveBars(bars), WatchStart(bars)) if as_json else WatchText(bars)
    with stop_on_signals() as (stop, received):
        try:
            wiping = drive_wipe.WipingStation(plan, station, events=events, stop=stop)
            wiping.start()
            results = wiping.run()
        finally:
            bars.close()
            key_notice(station)
    if received and not any(r.status == "interrupted" for r in results):
        click.echo("expunge: station stopped", err=True)
        received = []
    raise_worst(results, received)
