"""``expunge report``: the destructions of a period, one row each, with totals."""

from __future__ import annotations

from pathlib import Path

import click

from expunge.certificates.register import list_certificates
from expunge.certificates.register_query import Query, Totals
from expunge.commands.frame import trust_store
from expunge.commands.json_output import emit_json
from expunge.commands.options import home_option, json_option, trust_option
from expunge.commands.report_format import csv_text, period, table_lines, totals_lines
from expunge.core.config import Home
from expunge.core.errors import TargetError, UsageError


@click.command("report")
@click.option("--since", required=True, metavar="DATE", help="First day (YYYY-MM-DD, UTC).")
@click.option("--until", required=True, metavar="DATE", help="Last day, included.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the rows as CSV (no totals).")
@click.option(
    "--pdf",
    "pdf_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report as a printable PDF table.",
)
@trust_option
@json_option
@home_option
def report_command(
    since: str,
    until: str,
    as_csv: bool,
    pdf_out: Path | None,
    trust_sources: tuple[Path, ...],
    as_json: bool,
    home: Home,
) -> None:
    """One row per destruction certified between --since and --until (date, target,
    serial, method, verification, outcome, operator, certificate id), with totals.

    Read from the register of <home>/certificates; every row's signature is checked under
    the trusted keys (the SIGNATURE column).
    """
    if sum((as_csv, as_json, pdf_out is not None)) > 1:
        raise UsageError(
            "--csv, --json and --pdf each choose the output",
            target="report",
            remedy="give one of them",
        )
    start, end = period(since, until)
    rows = list_certificates(
        home.certificates, trust_store(home, trust_sources), Query(since=start, until=end)
    )
    totals = Totals.of(rows)
    if as_csv:
        click.echo(csv_text(rows), nl=False)
    elif as_json:
        emit_json(
            "report",
            {
                "since": since,
                "until": until,
                "rows": [r.to_dict() for r in rows],
                "totals": totals.to_dict(),
            },
        )
    elif pdf_out is not None:
        try:
            from expunge.certificates.pdf.report import render_report_pdf
        except ImportError:
            raise UsageError(
                "PDF output needs the optional PDF packages, which are not installed",
                target="--pdf",
                remedy="pip install 'expunge[pdf]', or use --csv or --json",
            ) from None

        title = f"expunge: destructions certified from {since} to {until}"
        write_output(pdf_out, render_report_pdf(title, rows, totals))
        click.echo(f"wrote {pdf_out}")
    else:
        click.echo(f"destructions certified from {since} to {until} ({home.certificates})")
        for line in (*table_lines(rows), *totals_lines(totals)):
            click.echo(line)


def write_output(path: Path, data: bytes) -> None:
    """Write a report file, or say in one line why it cannot be written."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise TargetError(
            f"cannot write the report: {exc.strerror}",
            target=str(path),
            remedy="choose a writable file",
        ) from None
