"""``expunge drive list | wipe | watch``: whole drives, confirmed by identity, in parallel.

Modules: ``output`` (events as JSON Lines, or bars and text lines), ``confirm`` (tokens
typed or expected), ``verdict`` (the exit code over several drives), ``sanitize`` (what a
drive can erase itself, and what it did), ``options`` (the station's filters, shared with
``expunge station``), ``wipe`` and ``watch``.
"""

from __future__ import annotations

from dataclasses import replace

import click

from expunge.commands.drive.output import vendor_model
from expunge.commands.drive.sanitize import profile_lines
from expunge.commands.drive.watch import watch_cmd
from expunge.commands.drive.wipe import wipe_cmd
from expunge.commands.json_output import emit_json
from expunge.commands.options import home_option, json_option
from expunge.commands.render import human_bytes
from expunge.core.config import Home
from expunge.drives.identify.probe import probe_node
from expunge.workflows import drive_wipe


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
        emit_json("drive-list", [c.to_dict() for c in checks])
        return
    if not checks:
        more = "" if include_all else " (removable or USB; --all lists every disk)"
        click.echo(f"no drives{more}")
        return
    click.echo(f"{'NODE':<14} {'SIZE':>10}  {'BUS':<8} {'VENDOR/MODEL':<28} {'IDENTITY':<22} WIPE")
    for check in checks:
        d = check.drive
        name = vendor_model(d)
        verdict = (
            "may be wiped" if check.may_wipe else "no: " + "; ".join(r.text for r in check.reasons)
        )
        click.echo(
            f"{d.node:<14} {human_bytes(d.size):>10}  {d.bus:<8} {name[:28]:<28} "
            f"{d.identity_token:<22} {verdict}"
        )
        for line in profile_lines(d):
            click.echo(line)


drive.add_command(wipe_cmd)
drive.add_command(watch_cmd)
