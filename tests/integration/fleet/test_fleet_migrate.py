"""``ledger migrate``: a station's SQLite ledger copied into the shared one, each copy
citing its original, the old chain still checkable; refused twice and when damaged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from expunge.ledger.store import open_store
from tests.support import run_cli
from tests.support.json_output import report_json
from tests.support.records import execute, make_document, ok, register

pytest.importorskip("psycopg")


def _station_with_history(tmp_path: Path, home: Path) -> list[str]:
    docs = []
    for name in ("a.txt", "b.txt", "c.txt"):
        path = tmp_path / name
        make_document(path, 8192)
        docs.append(register(home, path))
    ok(run_cli("ledger", "copy", docs[0], "--medium", "STICK-1", home=home))
    ok(run_cli("ledger", "checkpoint", home=home))
    ok(run_cli("shred", tmp_path / "b.txt", home=home))
    return docs


def test_migrated_entries_cite_their_origin_and_audit(
    tmp_path: Path, cli_home: Path, pg_ledger: str
) -> None:
    docs = _station_with_history(tmp_path, cli_home)
    before = json.loads(ok(run_cli("ledger", "list", "--json", home=cli_home)).out)["items"]
    migrated = run_cli("ledger", "migrate", "--to", pg_ledger, home=cli_home)
    assert migrated.code == 0, migrated.err
    assert "migrated 5 entries (seq 1..5) of ledger " in migrated.out
    assert "1 checkpoints stay in" in migrated.out

    with open_store(cli_home / "ledger.db", create=False) as old, open_store(pg_ledger) as new:
        originals = [e for e in old.entries() if e.event.kind != "checkpoint"]
        copies = list(new.entries())
        old_id = old.ledger_id
    assert [c.event for c in copies] == [o.event for o in originals]
    assert [
        (c.record.origin.ledger_id, c.record.origin.seq, c.record.origin.hash)
        for c in copies
        if c.record.origin
    ] == [(old_id, o.seq, o.hash) for o in originals]
    after = report_json(
        ok(run_cli("ledger", "list", "--json", "--ledger", pg_ledger, home=cli_home)), "ledger-list"
    )["items"]
    assert [(d["doc_id"], d["status"]) for d in after] == [
        (d["doc_id"], d["status"]) for d in before
    ]
    audit = run_cli("audit", "--ledger", pg_ledger, home=cli_home)
    assert audit.code == 0, audit.out + audit.err
    assert ok(run_cli("audit", home=cli_home)).out.endswith("audit: OK\n")  # the old one too

    again = run_cli("ledger", "migrate", "--to", pg_ledger, "--json", home=cli_home)
    assert again.code == 2
    assert f"already in the target, first {docs[0]}" in again.err
    with open_store(pg_ledger) as new:
        assert len(list(new.entries())) == len(copies)  # nothing written


def test_a_damaged_ledger_is_not_migrated(tmp_path: Path, cli_home: Path, pg_ledger: str) -> None:
    _station_with_history(tmp_path, cli_home)
    execute(
        cli_home / "ledger.db",
        "UPDATE entries SET record = replace(record, 'STICK-1', 'STICK-2') WHERE seq = 4",
    )
    refused = run_cli("ledger", "migrate", "--to", pg_ledger, home=cli_home)
    assert refused.code == 7
    assert "does not verify" in refused.err and "Traceback" not in refused.err
    with open_store(pg_ledger) as new:
        assert new.head() is None
