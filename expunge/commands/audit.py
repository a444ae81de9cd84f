"""``expunge audit``: the ledger's chain, its checkpoints, every certificate it cites, and
what is still outstanding, checked offline."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click

from expunge.commands.frame import trust_store
from expunge.commands.options import home_option, json_option, trust_option
from expunge.commands.render import output_format
from expunge.core.config import Home
from expunge.workflows import audit as auditing


@click.command("audit")
@trust_option
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A ledger head kept elsewhere: a 'ledger checkpoint -o' file or export lines "
    "(repeatable).",
)
@click.option(
    "--export",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Audit this 'ledger export' file instead of the home's ledger.",
)
@json_option
@home_option
def audit_command(
    trust_sources: tuple[Path, ...],
    anchors: tuple[Path, ...],
    export: Path | None,
    as_json: bool,
    home: Home,
) -> None:
    """Check the ledger and every certificate it cites; exit 0 only when all hold.

    Certificates in <home>/certificates are checked too: their ledger anchors detect a
    truncated ledger, and each destruction they certify must be recorded.
    """
    # An audit builds hundreds of thousands of small, acyclic objects and then exits: the
    # cycle collector would only rescan them again and again (a third of the run time).
    gc.disable()
    report = auditing.audit_station(
        home,
        trust_store(home, trust_sources),
        anchor_files=anchors,
        export=export,
        now=datetime.now(UTC),
        workers=os.cpu_count() or 1,
    )
    output_format(as_json).report(report, _audit_lines)
    if report.failure is not None:
        raise report.failure


def _authenticity_line(report: auditing.AuditReport) -> str:
    found = report.chain.authenticity
    line = (
        f"entries: {found.authenticated}/{found.v2_entries} v2 entries authenticated by "
        f"{found.signatures_verified}/{found.signatures} station signatures"
    )
    if found.v1_entries:
        line += f"; {found.v1_entries} v1 entries (from before entries were signed) unauthenticated"
    return line


def _audit_lines(report: auditing.AuditReport) -> Iterator[str]:
    chain = report.chain
    head = f"head seq {chain.head.seq}" if chain.head else "empty"
    yield (
        f"ledger {chain.ledger_id or '-'} ({report.source}): {chain.entries} entries, "
        f"{head}, {chain.checkpoints_verified}/{chain.checkpoints} checkpoints verified, "
        f"{report.anchors} external anchors"
    )
    yield _authenticity_line(report)
    for station in chain.authenticity.stations:
        yield f"station {station.host or '-'} (key {station.keyid}): {station.entries} entries"
    yield (
        f"documents: {report.documents}, destroyed {report.destroyed}, "
        f"{report.outstanding_copies} copies outstanding, {len(report.written_off)} written "
        f"off; {report.destroy_events} destroy events, {report.certificates_verified} "
        f"certificates verified, {report.certificate_files} certificate files"
    )
    for note in report.written_off:
        yield f"written off: {note.describe()}"
    for problem in report.problems:
        yield f"PROBLEM {problem.describe()}"
    yield "audit: OK" if report.ok else f"audit: FAILED ({len(report.problems)} problems)"
