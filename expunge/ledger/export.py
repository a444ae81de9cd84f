"""``ledger export``: JSON Lines with hashes, which an auditor verifies offline.

Each line is one entry's ``to_dict()`` in canonical JSON (RFC 8785): ledger id, seq, time,
actor, event, prev_hash and hash. Reading a line back re-canonicalizes the record, so the
chain verifies from an export exactly as it does from the database, and an edited line
fails at its seq.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from expunge.core.canonical import canonical_bytes, strict_loads
from expunge.core.errors import IntegrityError
from expunge.ledger.entries import Entry, RawEntry


def export_lines(entries: Iterable[Entry]) -> Iterator[str]:
    """One canonical JSON line (without newline) per entry."""
    for entry in entries:
        yield canonical_bytes(entry.to_dict()).decode("utf-8")


def read_export(lines: Iterable[str], source: str = "export") -> Iterator[RawEntry]:
    """Entries from exported lines, for ``verify_chain``; blank lines are skipped.

    A line that is not a well-formed entry is an ``IntegrityError`` naming its number.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        try:
            yield Entry.from_dict(strict_loads(line, what=where), where).raw()
        except IntegrityError as exc:
            raise IntegrityError(
                exc.message, target=source, remedy="the export was altered or truncated mid-line"
            ) from exc
