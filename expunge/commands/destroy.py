"""``expunge destroy DOC``: a registered document, every reachable copy, one certificate."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from expunge.commands.common import (
    cert_out_option,
    emit_json,
    file_options,
    home_option,
    json_option,
    key_notice,
    method_options,
    open_station,
    progress_sink,
    stop_on_signals,
    verify_options,
)
from expunge.commands.shred import exit_for, render_destruction
from expunge.core.config import Home
from expunge.core.errors import RefusedError
from expunge.ledger.state import DocumentState
from expunge.shred.files import FileOptions
from expunge.shred.methods import Method
from expunge.verify import VerifyOptions
from expunge.workflows import destroy, records


def _confirm(state: DocumentState, plan: records.DocumentPlan) -> None:
    """Show what will go and have the operator type the document id (on a terminal)."""
    click.echo(
        f"{state.doc_id}: {state.title} ({state.classification}, custodian {state.custodian})",
        err=True,
    )
    for loc in plan.reachable:
        click.echo(f"  will destroy: {loc.path}", err=True)
    for missing in plan.unreachable:
        click.echo(f"  not present, stays outstanding: {missing.describe()}", err=True)
    typed = click.prompt(f"type {state.doc_id} to destroy it", default="", err=True)
    if typed.strip() != state.doc_id:
        raise RefusedError(
            "not confirmed", target=state.doc_id, remedy="nothing was written; type the id exactly"
        )


@click.command("destroy")
@click.argument("doc_id", metavar="DOC")
@click.option("--yes", is_flag=True, help="Do not ask (scripts); required without a terminal.")
@method_options
@verify_options
@file_options
@cert_out_option
@json_option
@home_option
def destroy_command(
    doc_id: str,
    yes: bool,
    method: Method,
    verify: VerifyOptions,
    file_options: FileOptions,
    cert_out: Path | None,
    as_json: bool,
    home: Home,
) -> None:
    """Destroy registered document DOC: the original and every recorded copy present.

    One certificate covers every file; one ledger event records it. Copies on media
    that are not attached, or at paths that no longer exist, stay outstanding and are
    listed. On a terminal it asks you to type DOC; scripts pass --yes. Without a
    terminal and without --yes it refuses (exit 3) and writes nothing.
    """
    station = open_station(home)
    with records.require_ledger(home) as store:
        link = records.LedgerLink(store, records.load_policy(home), station.settings.operator)
        if not yes:
            if not sys.stdin.isatty():
                raise RefusedError(
                    "destroying a document needs confirmation",
                    target=doc_id,
                    remedy="run it on a terminal, or pass --yes in scripts; nothing was written",
                )
            state = records.document(store, doc_id, datetime.now(UTC))
            _confirm(state, records.plan_document(state))
        with stop_on_signals() as (stop, received):
            try:
                result = destroy.destroy_document(
                    doc_id,
                    station,
                    link,
                    method=method,
                    verify=verify,
                    file_options=file_options,
                    progress=progress_sink(),
                    stop=stop,
                    cert_out=cert_out,
                )
            finally:
                key_notice(station)
    if as_json:
        emit_json(result.to_dict())
    else:
        render_destruction(result.destruction)
        for path in result.untouched:
            click.echo(f"  left untouched (content is not {doc_id}'s): {path}")
        for loc in result.outstanding:
            click.echo(f"  outstanding: {loc.describe()} (recorded at seq {loc.seq})")
        if not result.outstanding:
            click.echo(f"{doc_id}: every recorded location is destroyed")
    exit_for((result.destruction,), received)
