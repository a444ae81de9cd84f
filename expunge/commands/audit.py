"""``expunge audit``: the ledger's chain, its checkpoints, every certificate it cites, and
what is still outstanding, checked offline."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click

from expunge.commands import systemlog
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
@click.option(
    "--strict",
    is_flag=True,
    help="Fail the audit on any certificate recording failed, partial or interrupted.",
)
@json_option
@home_option
def audit_command(
    trust_sources: tuple[Path, ...],
    anchors: tuple[Path, ...],
    export: Path | None,
    strict: bool,
    as_json: bool,
    home: Home,
) -> None:
    """Check the ledger and every certificate it cites; exit 0 only when all hold.

    Certificates in <home>/certificates are checked too: their ledger anchors detect a
    truncated ledger, and each destruction they certify must be recorded. Certificates are
    counted by outcome; --strict fails on any that does not record success.
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
        strict=strict,
    )
    output_format(as_json, "audit").report(report, _audit_lines)
    failure = report.failure
    systemlog.audit(home, report, failure)
    if failure is not None:
        raise failure


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
    yield report.outcomes.line()
    mark = "FAILED" if report.strict else "not success"
    for failed in report.outcomes.not_success:
        yield f"{mark}: certificate {failed.describe()}"
    for problem in report.problems:
        yield f"PROBLEM {problem.describe()}"
    if report.ok:
        yield "audit: OK"
    elif report.problems:
        yield f"audit: FAILED ({len(report.problems)} problems)"
    else:
        failed_count = len(report.outcomes.not_success)
        yield f"audit: FAILED (--strict: {failed_count} certificates do not record success)"
