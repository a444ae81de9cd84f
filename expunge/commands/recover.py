"""``expunge recover``: finish the destructions a killed run left without a certificate."""

from __future__ import annotations

import os

import click

from expunge.commands import systemlog
from expunge.commands.frame import key_notice, passphrase, recover
from expunge.commands.json_output import emit_json
from expunge.commands.options import home_option, json_option
from expunge.core.config import Home, load_settings
from expunge.workflows import certify


@click.command("recover")
@json_option
@home_option
def recover_command(as_json: bool, home: Home) -> None:
    """Certify and record what interrupted runs destroyed (every destroying command does
    this first on its own; this one does only that)."""
    settings = load_settings(home, os.environ)
    listener = systemlog.certificate_listener(home)
    station = certify.Station.open(home, settings, passphrase(home), on_issue=listener)
    try:
        done = recover(station)
    finally:
        key_notice(station)
    if as_json:
        emit_json(
            "recover",
            [
                {
                    "log": str(r.log),
                    "target": r.target,
                    "certificate": str(r.destruction.certificate.path)
                    if r.destruction and r.destruction.certificate
                    else r.certificate,
                    "destruction": r.destruction.to_dict() if r.destruction else None,
                }
                for r in done
            ],
        )
        return
    for result in done:
        click.echo(result.line())
    if not done:
        click.echo("nothing to recover: no interrupted run at this station")
