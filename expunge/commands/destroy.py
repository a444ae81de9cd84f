"""``expunge destroy DOC``: a registered document, every reachable copy, one certificate."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click

from expunge.commands import completion
from expunge.commands.destruction_text import destruction_lines
from expunge.commands.frame import open_station, station_job
from expunge.commands.options import (
    cert_out_option,
    document_job_options,
    home_option,
    json_option,
    technique_options,
)
from expunge.commands.render import output_format
from expunge.core.config import Home
from expunge.core.errors import RefusedError
from expunge.ledger.state import DocumentState
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
@click.argument("doc_id", metavar="DOC", shell_complete=completion.documents)
@click.option("--yes", is_flag=True, help="Do not ask (scripts); required without a terminal.")
@technique_options
@cert_out_option
@json_option
@document_job_options
@home_option
def destroy_command(
    doc_id: str,
    yes: bool,
    technique: destroy.Technique,
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
    with records.require_ledger(home, station) as store:
        link = records.LedgerLink(store, records.load_policy(home), station.settings.operator)
        if not yes:
            if not sys.stdin.isatty():
                raise RefusedError(
                    "destroying a document needs confirmation",
                    target=doc_id,
                    remedy="run it on a terminal, or pass --yes in scripts; nothing was written",
                )
            state = records.document(store, doc_id, datetime.now(UTC))
            _confirm(state, records.plan_document(state, records.here(store)))
        with station_job(home, station) as job:
            result = destroy.destroy_document(
                doc_id,
                job.station,
                link,
                technique,
                progress=job.progress,
                stop=job.stop,
                cert_out=cert_out,
            )
    output_format(as_json, "destroy").report(result, _document_lines)
    # destroy always resumes what its interruption left (it has no --resume to give).
    job.conclude(result.failure, remedy=f"run 'expunge destroy {doc_id}' again to finish")


def _document_lines(result: destroy.DocumentDestruction) -> Iterator[str]:
    yield from destruction_lines(result.destruction)
    for path in result.untouched:
        yield f"  left untouched (content is not {result.doc_id}'s): {path}"
    for loc in result.outstanding:
        yield f"  outstanding: {loc.describe()} (recorded at seq {loc.seq})"
    if not result.outstanding:
        yield f"{result.doc_id}: every recorded location is destroyed"
