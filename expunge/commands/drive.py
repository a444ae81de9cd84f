"""``expunge drive list | wipe | watch``: whole drives, confirmed by identity, in parallel."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import click

from expunge.commands.drive_sanitize import profile_lines, sanitize_lines
from expunge.commands.frame import key_notice, open_station, progress_sink, stop_on_signals
from expunge.commands.options import (
    drive_method_options,
    home_option,
    json_option,
    on_error_option,
    resume_option,
    verify_options,
)
from expunge.commands.render import emit_json, human_bytes, unwritten_lines, verification_line
from expunge.core.config import Home
from expunge.core.errors import (
    ExpungeError,
    IntegrityError,
    Interrupted,
    MediaIOError,
    RefusedError,
    TargetError,
    UsageError,
    VerificationError,
)
from expunge.drives import Drive, Identity, WatchFilter, confirm_token_matches
from expunge.drives.identify.probe import probe_node
from expunge.shred.methods import Method, get_method, is_crypto_erase
from expunge.verify import VerifyOptions
from expunge.workflows import drive_wipe

BUSES = ("usb", "ata", "scsi", "nvme", "mmc", "virtio", "any")
_SIZE = re.compile(r"\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*", re.IGNORECASE)
_MARK = {
    "success": "wiped",
    "partial": "PARTIAL",
    "failed": "FAILED",
    "interrupted": "INTERRUPTED",
    "refused": "REFUSED",
}
_ERROR_FOR_CODE: dict[int, type[ExpungeError]] = {
    3: RefusedError,
    4: TargetError,
    5: VerificationError,
    6: MediaIOError,
    7: IntegrityError,
}


def _size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """``64M``, ``8G``, ``1TiB`` or plain bytes (binary units) -> bytes."""
    if value is None:
        return None
    match = _SIZE.fullmatch(value)
    if not match:
        raise click.BadParameter(f"{value!r} is not a size (examples: 512M, 8G)", ctx, param)
    number, unit = int(match.group(1)), match.group(2).upper()
    return number << {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[unit]


def _vendor_model(drive: Drive) -> str:
    return " ".join(p for p in (drive.vendor, drive.model) if p) or "-"


def _describe(drive: Drive) -> str:
    return f"{drive.node} ({human_bytes(drive.size)}, {drive.bus}, {_vendor_model(drive)})"


@click.group()
def drive() -> None:
    """Whole drives: list them, wipe them, or run a wiping station."""


@drive.command("list")
@click.option("--all", "include_all", is_flag=True, help="Every disk, not only removable ones.")
@click.option("--allow-fixed", is_flag=True, help="Judge fixed disks as wipe --allow-fixed would.")
@click.option("--include-virtual", is_flag=True, hidden=True)
@json_option
@home_option
def list_cmd(
    include_all: bool, allow_fixed: bool, include_virtual: bool, as_json: bool, home: Home
) -> None:
    """List drives with their identity token and whether they may be wiped."""
    checks = drive_wipe.survey(
        home.root,
        include_all=include_all,
        allow_fixed=allow_fixed,
        include_virtual=include_virtual,
    )
    checks = tuple(replace(c, drive=replace(c.drive, profile=probe_node(c.drive))) for c in checks)
    if as_json:
        emit_json([c.to_dict() for c in checks])
        return
    if not checks:
        more = "" if include_all else " (removable or USB; --all lists every disk)"
        click.echo(f"no drives{more}")
        return
    click.echo(f"{'NODE':<14} {'SIZE':>10}  {'BUS':<8} {'VENDOR/MODEL':<28} {'IDENTITY':<22} WIPE")
    for check in checks:
        d = check.drive
        name = _vendor_model(d)
        verdict = (
            "may be wiped" if check.may_wipe else "no: " + "; ".join(r.text for r in check.reasons)
        )
        click.echo(
            f"{d.node:<14} {human_bytes(d.size):>10}  {d.bus:<8} {name[:28]:<28} "
            f"{d.identity_token:<22} {verdict}"
        )
        for line in profile_lines(d):
            click.echo(line)


def _confirm_expected(checks: Sequence[drive_wipe.DriveCheck], expects: Sequence[str]) -> None:
    """``--yes``: every drive named by one ``--expect``, and every ``--expect`` used."""
    for check in checks:
        if not any(confirm_token_matches(check.drive, e) for e in expects):
            raise RefusedError(
                f"not confirmed: its identity token is {check.drive.identity_token}, "
                "and no --expect names it; nothing was written",
                target=check.drive.node,
                remedy="pass --expect TOKEN for every drive (see 'expunge drive list --all')",
            )
    for expect in expects:
        if not any(confirm_token_matches(c.drive, expect) for c in checks):
            raise RefusedError(
                "names none of the drives given; nothing was written",
                target=f"--expect {expect}",
                remedy="check the drives and their tokens with 'expunge drive list --all'",
            )


def _confirm_typed(checks: Sequence[drive_wipe.DriveCheck], expects: Sequence[str]) -> None:
    """At a terminal: the operator types each wipeable drive's identity token."""
    if expects:
        _confirm_expected(checks, expects)
    for check in checks:
        d = check.drive
        click.echo(f"{_describe(d)}, identity token {d.identity_token}", err=True)
        if not check.may_wipe:
            click.echo("  refused: " + "; ".join(r.text for r in check.reasons), err=True)
            continue
        typed = click.prompt(
            f"  every byte of {d.node} will be overwritten; type its identity token to confirm",
            default="",
            show_default=False,
            err=True,
        )
        if not confirm_token_matches(d, typed):
            raise RefusedError(
                "not confirmed: the token typed is not this drive's; nothing was written",
                target=d.node,
                remedy=f"type {d.identity_token} exactly, or check the drive",
            )


def _render(result: drive_wipe.DriveWipe) -> None:
    head = f"{_MARK[result.status]}: {result.node} [{result.token}]"
    wipe = result.wipe
    if result.sanitize is not None:
        click.echo(f"{head} {human_bytes(result.drive.size)} {result.drive.bus}")
        for line in sanitize_lines(result.sanitize):
            click.echo(line)
        _render_closing(result)
        return
    if wipe is None:
        problem = result.problem.diagnostics() if result.problem else "not wiped"
        click.echo(f"{head}: {problem}")
        return
    seconds = sum(p.seconds for p in wipe.passes)
    written = sum(p.bytes_written - p.resumed_from for p in wipe.passes)
    rate = f", {human_bytes(written / seconds)}/s" if seconds else ""
    click.echo(
        f"{head} {human_bytes(wipe.identity.size)} {result.drive.bus}, {wipe.method}, "
        f"{len(wipe.passes)}/{wipe.planned_passes} passes{rate}"
    )
    for check in result.verifications:
        click.echo(f"  {verification_line(check)}")
    for lim in wipe.limitations:
        click.echo(f"  note: {lim.text}")
    for err in (*wipe.errors, *(p.error for p in wipe.passes if p.error)):
        click.echo(f"  error: {err}")
    for line in unwritten_lines(wipe.unwritten):
        click.echo(f"  {line}")
    for event in result.journal_events:
        click.echo(f"  {event.kind} at pass {event.pass_index}, offset {event.offset}")
    if result.status == "interrupted":
        click.echo(f"  to finish: expunge drive wipe --resume {result.node} (same options)")
    _render_closing(result)


def _render_closing(result: drive_wipe.DriveWipe) -> None:
    if result.problem is not None:
        click.echo(f"  error: {result.problem.diagnostics()}")
    if result.certificate is not None:
        click.echo(f"  certificate ({result.certificate.outcome}): {result.certificate.path}")


def _exit_code(result: drive_wipe.DriveWipe, received: Sequence[int]) -> int:
    status = result.status
    if status == "success":
        return 0
    if status == "interrupted" and received:
        return 128 + received[0]
    if status == "interrupted":
        return 6  # not stopped by a signal: the medium stopped answering
    if result.verification_failed:
        return 5
    if result.problem is not None:
        return result.problem.exit_code
    return 6


def _raise_worst(results: Sequence[drive_wipe.DriveWipe], received: Sequence[int]) -> None:
    """Exit with the worst outcome: interrupted > I/O > verification > target > refused."""
    codes = [(_exit_code(r, received), r) for r in results]
    worst = max((code for code, _ in codes), default=0)
    if worst == 0:
        return
    nodes = ", ".join(r.node for code, r in codes if code)
    if worst >= 128:
        raise Interrupted(
            "interrupted; what was written is certified as interrupted",
            signum=worst - 128,
            target=nodes,
            remedy="run the same command with --resume to finish",
        )
    counted = sum(1 for code, _ in codes if code)
    error = _ERROR_FOR_CODE.get(worst, MediaIOError)
    raise error(
        f"{counted} of {len(results)} drive(s) not wiped as asked (see above)",
        target=nodes,
        remedy="REFUSED drives were not written to; others: check the medium and wipe again",
    )


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


@drive.command("wipe")
@click.argument("devices", nargs=-1, required=True)
@drive_method_options
@verify_options
@click.option("--allow-fixed", is_flag=True, help="Allow fixed (non-removable) disks.")
@click.option("--include-virtual", is_flag=True, hidden=True)
@click.option("--yes", is_flag=True, help="Do not prompt; needs --expect for every drive.")
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
    help="With -m luks-erase: overwrite the whole volume with METHOD after the erase.",
)
@click.option(
    "--include-hidden-areas",
    is_flag=True,
    help="Open an ATA drive's host protected area (volatile) and overwrite it too.",
)
@resume_option
@on_error_option
@json_option
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
    as_json: bool,
    home: Home,
) -> None:
    """Overwrite whole drives in parallel, verify them, and certify each one.

    Each drive is confirmed by its identity token (serial, or diskseq:N): typed at the
    terminal, or given with --expect together with --yes. With -m luks-erase a drive
    holding a LUKS volume is crypto-erased (headers and keyslots; NIST Purge); a drive
    that is not LUKS, or is open, is refused before any write.
    """
    then = _then_method(method, then_name)
    checks = drive_wipe.check_drives(
        devices, home.root, allow_fixed=allow_fixed, include_virtual=include_virtual
    )
    if yes:
        _confirm_expected(checks, expects)
    elif sys.stdin.isatty():
        _confirm_typed(checks, expects)
    else:
        raise RefusedError(
            "not confirmed: no terminal to type the identity tokens; nothing was written",
            target=", ".join(c.drive.node for c in checks),
            remedy="pass --yes and --expect TOKEN for every drive (see 'expunge drive list')",
        )
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
        for c in checks
    ]
    station = open_station(home)
    with stop_on_signals() as (stop, received):
        try:
            results = drive_wipe.wipe_drives(requests, station, progress=progress_sink(), stop=stop)
        finally:
            key_notice(station)
    if as_json:
        emit_json([r.to_dict() for r in results])
    else:
        for result in results:
            _render(result)
    _raise_worst(results, received)


@drive.command("watch")
@click.option(
    "--bus",
    "buses",
    multiple=True,
    type=click.Choice(BUSES),
    default=("usb",),
    show_default=True,
    help="Buses to take drives from (repeatable); 'any' takes every physical bus.",
)
@click.option("--min-size", callback=_size, default=None, help="Ignore smaller drives (64M, 8G).")
@click.option("--max-size", callback=_size, default=None, help="Ignore larger drives (64M, 8G).")
@click.option("--allow-fixed", is_flag=True, help="Also take fixed disks (hot-swap bays).")
@click.option("--include-virtual", is_flag=True, hidden=True)
@click.option("--once", is_flag=True, help="Stop after one drive.")
@click.option("--yes", is_flag=True, help="Required: drives are wiped without prompting.")
@drive_method_options
@verify_options
@json_option
@home_option
def watch_cmd(
    buses: tuple[str, ...],
    min_size: int | None,
    max_size: int | None,
    allow_fixed: bool,
    include_virtual: bool,
    once: bool,
    yes: bool,
    method: Method,
    verify: VerifyOptions,
    as_json: bool,
    home: Home,
) -> None:
    """Station mode: wipe and certify every drive plugged in from now on.

    Each new drive that passes the filters and the interlocks is wiped without a prompt,
    several at once; one line per drive when it is done. Ctrl-C stops cleanly.
    """
    if not yes:
        raise RefusedError(
            "station mode wipes every drive plugged in without asking",
            target="drive watch",
            remedy="pass --yes to start it",
        )
    plan = drive_wipe.StationPlan(
        method=method,
        verify=verify,
        filters=WatchFilter(
            buses=None if "any" in buses else frozenset(buses),
            min_size=min_size or 1,
            include_virtual=include_virtual,
        ),
        max_size=max_size,
        allow_fixed=allow_fixed,
        once=once,
    )
    station = open_station(home)
    results: list[drive_wipe.DriveWipe] = []
    with stop_on_signals() as (stop, received):
        try:
            finished = drive_wipe.run_station(plan, station, stop=stop, progress=progress_sink())
            taking = "any bus" if "any" in buses else "bus " + ", ".join(buses)
            click.echo(
                f"expunge: watching for drives ({taking}, method {method.name}); Ctrl-C stops",
                err=True,
            )
            for result in finished:
                results.append(result)
                _report_line(result, as_json)
        finally:
            key_notice(station)
    if received and not any(r.status == "interrupted" for r in results):
        click.echo("expunge: station stopped", err=True)
        received = []
    _raise_worst(results, received)


def _report_line(result: drive_wipe.DriveWipe, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.to_dict()), nl=True)
        return
    cert = str(result.certificate.path) if result.certificate else "-"
    why = f" ({result.problem.diagnostics()})" if result.problem else ""
    click.echo(f"{result.node} {result.token} {result.status} {cert}{why}")
