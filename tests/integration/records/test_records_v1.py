"""Ledgers written before entries were signed (record format v1) still audit: their entries
are reported as unauthenticated, not as tampering; what is appended to them is v2."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from expunge.ledger.chain import next_entry
from expunge.ledger.entries import Entry, Record
from expunge.ledger.events import Register, Transfer
from expunge.ledger.store import SQLiteLedgerStore
from tests.support import run_cli
from tests.support.records import (
    append_raw,
    audit_json,
    digest_of,
    execute,
    make_document,
    ok,
    problems,
    record_of,
    register,
)

THEN = datetime(2025, 6, 1, 9, 0, 0, tzinfo=UTC)


def _schema_version(db: Path) -> str:
    with closing(sqlite3.connect(db)) as conn:
        (value,) = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return str(value)


@pytest.fixture
def v1_home(tmp_path: Path, cli_home: Path) -> tuple[Path, Path]:
    """A home whose ledger an earlier expunge wrote: schema version 1, v1 records."""
    document = tmp_path / "old-report.pdf"
    make_document(document, 32 << 10)
    db = cli_home / "ledger.db"
    with SQLiteLedgerStore(db) as store:
        ledger_id = store.ledger_id
    events = [
        Register("DOC-2025-000001", "Old report", "secret", "alice", str(document),
                 document.stat().st_size, digest_of(document)),
        Transfer("DOC-2025-000001", "bob"),
    ]  # fmt: skip
    entries: list[Entry] = []
    for event in events:
        head = entries[-1].head if entries else None
        entries.append(next_entry(ledger_id, head, Record(THEN, "alice", event)))
    for entry in entries:
        execute(
            db,
            "INSERT INTO entries (seq, record, prev_hash, hash) VALUES (?, ?, ?, ?)",
            entry.seq,
            entry.record.canonical().decode(),
            entry.prev_hash,
            entry.hash,
        )
    execute(db, "UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    return cli_home, document


def test_a_v1_ledger_audits_with_its_entries_unauthenticated(v1_home: tuple[Path, Path]) -> None:
    home, _ = v1_home
    report = audit_json(home)
    assert report["ok"], report["problems"]
    assert report["authenticity"] == {
        "v1_entries": 2,
        "v2_entries": 0,
        "authenticated": 0,
        "signatures": 0,
        "signatures_verified": 0,
        "stations": [],
        "verified": True,
    }
    text = ok(run_cli("audit", home=home)).out
    assert "2 v1 entries (from before entries were signed) unauthenticated" in text
    assert _schema_version(home / "ledger.db") == "1"  # reading changes nothing


def test_entries_appended_to_a_v1_ledger_are_v2(v1_home: tuple[Path, Path], tmp_path: Path) -> None:
    home, document = v1_home
    db = home / "ledger.db"
    new = tmp_path / "new.pdf"
    make_document(new, 4096)
    new_doc = register(home, new)
    ok(run_cli("shred", document, home=home))  # destroys the v1 document, recorded as v2

    assert _schema_version(db) == "2"  # an older expunge now refuses to append to it
    assert "version" not in record_of(db, 2) and record_of(db, 3)["version"] == 2
    report = audit_json(home)
    assert report["ok"], report["problems"]
    authenticity = report["authenticity"]
    assert isinstance(authenticity, dict)
    assert (authenticity["v1_entries"], authenticity["authenticated"]) == (2, 2)
    (station,) = authenticity["stations"]
    assert station["entries"] == 2
    assert report["destroyed"] == 1

    # An unsigned v1 entry after the first v2 one is not from an older expunge's ledger.
    forged = record_of(db, 2)
    forged["event"] = {"type": "transfer", "doc_id": new_doc, "custodian": "mallory"}
    seq = append_raw(db, forged)
    assert problems(audit_json(home)) == [(seq, "unauthenticated")]
