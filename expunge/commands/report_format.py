"""The register's rows as people and spreadsheets read them: a text table and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime

from expunge.certificates.register_query import Totals
from expunge.certificates.register_row import HEADERS, RegisterRow
from expunge.certificates.render import human_bytes
from expunge.core.clock import parse_date
from expunge.core.errors import UsageError


def table_lines(rows: Sequence[RegisterRow]) -> Iterator[str]:
    """A text table: a header line, then one line per row, columns padded to fit."""
    body = [r.cells() for r in rows]
    widths = [max([len(h), *(len(c[i]) for c in body)]) for i, h in enumerate(HEADERS)]
    for line in (tuple(h.upper() for h in HEADERS), *body):
        yield "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()


def totals_lines(totals: Totals) -> Iterator[str]:
    """The totals under a report."""
    outcomes = ", ".join(f"{o} {n}" for o, n in totals.by_outcome)
    yield (
        f"total: {totals.certificates} destructions ({outcomes}); {totals.subjects} subjects, "
        f"{human_bytes(totals.bytes)}"
    )
    if totals.unverified:
        yield f"signature NOT verified under the trusted keys: {totals.unverified}"


def csv_text(rows: Sequence[RegisterRow]) -> str:
    """The rows as CSV (RFC 4180), with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(r.cells() for r in rows)
    return out.getvalue()


def period(since: str | None, until: str | None) -> tuple[float | None, float | None]:
    """``--since``/``--until`` as Unix times: a date alone means from the start of that
    day (UTC) and up to its end; an RFC 3339 time means that instant."""
    start = None if since is None else parse_date(since, "--since")
    if start is not None and len(since or "") == 10:
        start = start.replace(hour=0, minute=0, second=0)
    end = None if until is None else parse_date(until, "--until")
    if start is not None and end is not None and end < start:
        raise UsageError(
            f"--until {until} is before --since {since}",
            target="--until",
            remedy="give the period's first day to --since and its last to --until",
        )
    return _epoch(start), _epoch(end)


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()
