"""``expunge drive wipe``: whole drives confirmed by identity, wiped in parallel, each
reported the moment it is certified."""

from __future__ import annotations

import sys
from typing import Literal

import click

from expunge.commands import completion
from expunge.commands.drive.confirm import Confirmed, confirm_expected, confirm_typed
from expunge.commands.drive.options import nowait_option
from expunge.commands.drive.output import DriveBars, Fanout, JsonLines, WipeText
from expunge.commands.drive.verdict import raise_worst
from expunge.commands.frame import key_notice, open_station, stop_on_signals
from expunge.commands.options import (
    drive_method_options,
    home_option,
    job_options,
    json_option,
    on_error_option,
    record_later_option,
    resume_option,
    verify_options,
)
from expunge.commands.progress import stderr_bars
from expunge.core.config import Home
from expunge.core.errors import RefusedError, UsageError
from expunge.drives import Identity
from expunge.shred.methods import Method, get_method, is_crypto_erase
from expunge.verify import VerifyOptions
from expunge.workflows import drive_wipe, records


def _then_method(method: Method, then_name: str | None) -> Method | None:
    """``--then METHOD``: only after -m luks-erase, and only an overwrite method."""
    if then_name is None:
        return None
    then = get_method(then_name)
    if not is_crypto_erase(method) or is_crypto_erase(then):
        raise UsageError(
            "--then follows -m luks-erase with an overwrite method",
            target="--then",
            remedy="e.g. -m luks-erase --then clear",
        )
    return then


def _confirm(
    checks: tuple[drive_wipe.DriveCheck, ...], yes: bool, expects: tuple[str, ...]
) -> Confirmed:
    if yes:
        confirm_expected(checks, expects)
        return Confirmed(checks, ())
    if sys.stdin.isatty():
        return confirm_typed(checks, expects)
    raise RefusedError(
        "not confirmed: no terminal to type the identity tokens; nothing was written",
        target=", ".join(c.drive.node for c in checks),
        remedy="pass --yes and --expect TOKEN for every drive (see 'expunge drive list')",
    )


@click.command("wipe")
@click.argument("devices", nargs=-1, required=True, shell_complete=completion.drives)
@drive_method_options
@verify_options
@click.option("--allow-fixed", is_flag=True, help="Allow fixed (non-removable) disks.")
@click.option("--include-virtual", is_flag=True, hidden=True)
@click.option(
    "--yes",
    "--autonuke",
    "yes",
    is_flag=True,
    help="Do not prompt; needs --expect for every drive (--autonuke, as nwipe).",
)
@nowait_option
@click.option(
    "--expect",
    "expects",
    multiple=True,
    metavar="TOKEN",
    help="The identity token of a drive to wipe (repeatable; see 'drive list').",
)
@click.option(
    "--then",
    "then_name",
    default=None,
    metavar="METHOD",
    shell_complete=completion.methods,
    help="With -m luks-erase: overwrite the whole volume with METHOD after the erase.",
)
@click.option(
    "--include-hidden-areas",
    is_flag=True,
    help="Open an ATA drive's host protected area (volatile) and overwrite it too.",
)
@resume_option
@on_error_option
@record_later_option
@json_option
@job_options
@home_option
def wipe_cmd(
    devices: tuple[str, ...],
    method: Method,
    verify: VerifyOptions,
    allow_fixed: bool,
    include_virtual: bool,
    yes: bool,
    expects: tuple[str, ...],
    then_name: str | None,
    include_hidden_areas: bool,
    resume: bool,
    on_error: Literal["continue", "abort"],
    record_later: bool,
    as_json: bool,
    home: Home,
) -> None:
    """Overwrite whole drives in parallel, verify them, and certify each one.

    Each drive is confirmed by its identity token (serial, or diskseq:N): typed at the
    terminal (three tries per drive), or given with --expect together with --yes. With
    -m luks-erase a drive holding a LUKS volume is crypto-erased (headers and keyslots;
    NIST Purge); a drive that is not LUKS, or is open, is refused before any write. With
    --json, every step of every drive is one JSON line on stdout as it happens.
    """
    then = _then_method(method, then_name)
    checks = drive_wipe.check_drives(
        devices, home.root, allow_fixed=allow_fixed, include_virtual=include_virtual
    )
    confirmed = _confirm(checks, yes, expects)
    requests = [
        drive_wipe.DriveRequest(
            c.drive,
            Identity.from_drive(c.drive),
            method,
            verify,
            allow_fixed=allow_fixed,
            include_virtual=include_virtual,
            then=then,
            resume=resume,
            on_error=on_error,
            include_hidden_areas=include_hidden_areas,
        )
        for c in confirmed.wipe
    ]
    bars = stderr_bars()
    events = Fanout(JsonLines(), DriveBars(bars)) if as_json else WipeText(bars)
    for refused in confirmed.unconfirmed:
        drive_wipe.report_refusal(refused, events)
    station = open_station(home)
    if requests:
        # A shared ledger that is down refuses here, before any write, unless the records
        # may be queued: it cannot say which of these media hold recorded copies.
        operator = station.settings.operator
        with records.recording_ledger(home, operator, station, record_later=record_later):
            pass
    with stop_on_signals() as (stop, received):
        try:
            results = drive_wipe.wipe_drives(requests, station, events=events, stop=stop)
        finally:
            bars.close()
            key_notice(station)
    raise_worst((*confirmed.unconfirmed, *results), received)
