"""Which documents had a location at a path or on a medium: an index derived from entries.

Destroying a tree of 10,000 files asks, for every file, whether it is a registered
document; a scan of the whole ledger per question would make that quadratic. The SQLite
store keeps a ``places`` table instead: one row per location an event records (the
registered path, a copy's path or medium, a sealed file), written in the transaction that
appends the event. The table is not part of the chain and decides nothing: it only narrows
the documents whose state (derived from their entries, as always) is looked at. So it can
be rebuilt at any time from the entries: ``meta.places_seq`` says up to which entry it is
complete, and whatever is missing (a ledger written before the index existed, a table
dropped by hand, entries appended by an older expunge) is indexed on the next use.

Paths are stored as their bytes (``os.fsencode``), so names that are not UTF-8 are
indexed exactly and a folder's ``/``-prefix is a range of the index.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from expunge.ledger.entries import Entry
from expunge.ledger.events import Copy, Event, Register, Seal

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS places ("
    " kind TEXT NOT NULL, name BLOB NOT NULL, doc_id TEXT NOT NULL, seq INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS places_name ON places (kind, name)",
)
_SEQ_KEY = "places_seq"


@dataclass(frozen=True)
class Place:
    """A location recorded by one event: a path (as bytes) or a medium token."""

    kind: str  # "path" or "medium"
    name: bytes


def places_of(event: Event) -> tuple[Place, ...]:
    """The locations ``event`` records (none for transfers, destructions, checkpoints)."""
    if isinstance(event, Register):
        return (Place("path", os.fsencode(event.path)),)
    if isinstance(event, Copy):
        if event.to_path is not None:
            return (Place("path", os.fsencode(event.to_path)),)
        return (Place("medium", str(event.to_medium).encode()),)
    if isinstance(event, Seal):
        return (Place("path", os.fsencode(event.sealed_path)),)
    return ()


def _below(path: str) -> tuple[bytes, bytes, bytes]:
    """The name itself, and the range of names below it as a folder: ``[low, high)``."""
    name = os.fsencode(path)
    low = name if name.endswith(b"/") else name + b"/"
    return name, low, low[:-1] + b"0"  # '0' sorts right after '/'


def scan(entries: Iterable[Entry], paths: Sequence[str], medium: str | None) -> frozenset[str]:
    """What ``documents_at`` / ``documents_on`` answer, from the entries themselves: for a
    store that keeps no index, and to check one."""
    ranges = [_below(p) for p in paths]
    wanted = medium.encode() if medium is not None else None
    found: set[str] = set()
    for entry in entries:
        for place in places_of(entry.event):
            if place.kind == "medium":
                hit = place.name == wanted
            else:
                hit = any(place.name == n or lo <= place.name < hi for n, lo, hi in ranges)
            if hit and entry.event.doc_id is not None:
                found.add(entry.event.doc_id)
    return frozenset(found)


def indexed_seq(conn: sqlite3.Connection) -> int | None:
    """The seq up to which the index is complete; ``None`` when there is no index."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'places'"
    ).fetchone()
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_SEQ_KEY,)).fetchone()
    if exists is None or row is None or not str(row[0]).isdigit():
        return None
    return int(row[0])


def reset(conn: sqlite3.Connection) -> None:
    """An empty index (inside a write transaction), to be filled from the first entry."""
    for statement in SCHEMA:
        conn.execute(statement)
    conn.execute("DELETE FROM places")
    mark(conn, 0)


def add(conn: sqlite3.Connection, entries: Iterable[Entry]) -> None:
    """Index the locations ``entries`` record (inside their write transaction)."""
    conn.executemany(
        "INSERT INTO places (kind, name, doc_id, seq) VALUES (?, ?, ?, ?)",
        (
            (place.kind, place.name, entry.event.doc_id, entry.seq)
            for entry in entries
            for place in places_of(entry.event)
        ),
    )


def mark(conn: sqlite3.Connection, seq: int) -> None:
    """Record that the index is complete up to ``seq``."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (_SEQ_KEY, str(seq)),
    )


def documents_at(conn: sqlite3.Connection, paths: Iterable[str]) -> frozenset[str]:
    """Documents with a location indexed at one of ``paths`` or below it."""
    found: set[str] = set()
    for path in paths:
        name, low, high = _below(path)
        rows = conn.execute(
            "SELECT doc_id FROM places WHERE kind = 'path'"
            " AND (name = ? OR (name >= ? AND name < ?))",
            (name, low, high),
        )
        found.update(str(row[0]) for row in rows)
    return frozenset(found)


def documents_on(conn: sqlite3.Connection, medium: str) -> frozenset[str]:
    """Documents with a copy indexed on the medium ``medium``."""
    rows = conn.execute(
        "SELECT doc_id FROM places WHERE kind = 'medium' AND name = ?", (medium.encode(),)
    )
    return frozenset(str(row[0]) for row in rows)
