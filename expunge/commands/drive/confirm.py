"""Confirming the drives of ``drive wipe``: ``--yes`` with ``--expect`` for every drive, or
the operator typing each token at the terminal, with a few tries per drive."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import click

from expunge.commands.drive.output import describe
from expunge.core.errors import RefusedError
from expunge.drives import confirm_token_matches
from expunge.workflows import drive_wipe


@dataclass(frozen=True)
class Confirmed:
    """The drives to wipe (those the interlocks refuse are kept: the wipe refuses them
    with their reasons), and those the operator did not confirm."""

    wipe: tuple[drive_wipe.DriveCheck, ...]
    unconfirmed: tuple[drive_wipe.DriveWipe, ...]


def confirm_expected(checks: Sequence[drive_wipe.DriveCheck], expects: Sequence[str]) -> None:
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


def confirm_typed(checks: Sequence[drive_wipe.DriveCheck], expects: Sequence[str]) -> Confirmed:
    """At a terminal: the operator types each wipeable drive's identity token.

    A mistyped token asks again, up to ``CONFIRM_TRIES`` times for that drive; then that
    drive alone is left out (refused, nothing written) and the others go on.
    """
    if expects:
        confirm_expected(checks, expects)
        return Confirmed(tuple(checks), ())
    wipe: list[drive_wipe.DriveCheck] = []
    unconfirmed: list[drive_wipe.DriveWipe] = []
    for check in checks:
        d = check.drive
        click.echo(f"{describe(d)}, identity token {d.identity_token}", err=True)
        if not check.may_wipe:
            click.echo("  refused: " + "; ".join(r.text for r in check.reasons), err=True)
            wipe.append(check)
            continue
        waiting = drive_wipe.Confirmation(d)
        while not (waiting.confirmed or waiting.refused):
            if waiting.tries_left < drive_wipe.CONFIRM_TRIES:
                click.echo(
                    f"  that is not the token of {d.node}; {waiting.tries_left} "
                    f"{'try' if waiting.tries_left == 1 else 'tries'} left",
                    err=True,
                )
            typed = click.prompt(
                f"  every byte of {d.node} will be overwritten; type its identity token to confirm",
                default="",
                show_default=False,
                err=True,
            )
            waiting = waiting.answer(typed)
        if waiting.confirmed:
            wipe.append(check)
        else:
            click.echo(f"  {d.node} will not be wiped: not confirmed", err=True)
            unconfirmed.append(waiting.refusal())
    return Confirmed(tuple(wipe), tuple(unconfirmed))
