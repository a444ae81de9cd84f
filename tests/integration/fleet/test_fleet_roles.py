"""``ledger setup-postgres`` and what its roles may do, logged in as real login roles:
a station appends only through the append function, at the head; an auditor only reads;
nobody, the owner included, updates, deletes or truncates history."""

from __future__ import annotations

import json

import pytest

from expunge.core.errors import RefusedError
from expunge.ledger.chain import verify_chain
from expunge.ledger.store import open_store
from tests.support import run_cli
from tests.support.json_output import report_json
from tests.support.ledger import NOW, STATION, register
from tests.support.postgres import login_role

psycopg = pytest.importorskip("psycopg")

TABLES = ("meta", "entries", "places")


def _filled(url: str) -> None:
    with open_store(url, signer=STATION) as store:
        store.append(register("DOC-1"), actor="op", now=NOW)
        store.append(register("DOC-2"), actor="op", now=NOW)


def test_setup_creates_the_ledger_once_and_keeps_its_id(pg_database: str) -> None:
    first = run_cli("ledger", "setup-postgres", pg_database, "--json")
    assert first.code == 0, first.err
    created = json.loads(first.out)
    assert created["created"] is True
    assert created["station_role"] == "expunge_station"
    again = run_cli("ledger", "setup-postgres", pg_database)
    assert again.code == 0, again.err
    assert f"ledger {created['ledger_id']} at " in again.out
    assert "already set up" in again.out
    with open_store(pg_database) as store:
        assert store.ledger_id == created["ledger_id"]


def test_setup_and_open_refuse_what_is_not_a_ledger(pg_database: str) -> None:
    bad = run_cli("ledger", "setup-postgres", "/tmp/not-a-url")
    assert bad.code == 2 and "not a PostgreSQL URL" in bad.err
    missing = run_cli("ledger", "list", "--ledger", pg_database)
    assert missing.code == 4
    assert "no expunge ledger in this database" in missing.err
    assert "setup-postgres" in missing.err and "Traceback" not in missing.err
    secret = pg_database.replace("postgres@", "postgres:hunter2@")
    shown = run_cli("ledger", "list", "--ledger", secret)
    assert shown.code == 4 and "hunter2" not in shown.err


def test_a_station_role_appends_only_at_the_head_and_changes_nothing(
    pg_server: str, pg_ledger: str
) -> None:
    _filled(pg_ledger)
    with login_role(pg_server, pg_ledger, "expunge_station") as station_url:
        with open_store(station_url, signer=STATION) as store:
            entry = store.append(register("DOC-3"), actor="op", now=NOW)
            assert entry.seq == 3
            head = store.head()
        with psycopg.connect(station_url, autocommit=True) as conn:
            for table in TABLES:
                for statement in (
                    f"UPDATE expunge.{table} SET {'value' if table == 'meta' else 'seq'} = "
                    f"{'value' if table == 'meta' else 'seq'}",
                    f"DELETE FROM expunge.{table}",
                    f"TRUNCATE expunge.{table}",
                ):
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        conn.execute(statement)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    "INSERT INTO expunge.entries VALUES (4, '{}', %s, %s)",
                    (bytes(32), bytes(32)),
                )
            assert head is not None
            stale = (head.seq, '{"event": {}}', bytes(32), bytes(32))
            with pytest.raises(psycopg.Error, match="does not follow the head") as refused:
                conn.execute("SELECT expunge.append_entry(%s, %s, %s, %s)", stale)
            assert refused.value.sqlstate == "EX001"
            skipped = (head.seq + 2, '{"event": {}}', head.hash, bytes(32))
            with pytest.raises(psycopg.Error, match="does not follow the head"):
                conn.execute("SELECT expunge.append_entry(%s, %s, %s, %s)", skipped)
    with open_store(pg_ledger) as store:
        report = verify_chain(store.raw_entries(), entry_verifier=STATION.verify)
        assert report.ok and report.entries == 3


def test_an_auditor_role_reads_and_cannot_append(pg_server: str, pg_ledger: str) -> None:
    _filled(pg_ledger)
    with login_role(pg_server, pg_ledger, "expunge_auditor") as auditor_url:
        with open_store(auditor_url) as reader:
            assert [e.seq for e in reader.entries()] == [1, 2]
        with (
            open_store(auditor_url, signer=STATION) as store,
            pytest.raises(RefusedError, match="permission denied"),
        ):
            store.append(register("DOC-3"), actor="op", now=NOW)
        listed = run_cli("ledger", "list", "--json", "--ledger", auditor_url)
        assert listed.code == 0, listed.err
        assert [d["doc_id"] for d in report_json(listed, "ledger-list")["items"]] == [
            "DOC-1",
            "DOC-2",
        ]


def test_the_owner_cannot_rewrite_history_either(pg_ledger: str) -> None:
    _filled(pg_ledger)
    with psycopg.connect(pg_ledger, autocommit=True) as conn:
        for statement in (
            "UPDATE expunge.entries SET record = record || ' '",
            "DELETE FROM expunge.entries WHERE seq = 2",
            "TRUNCATE expunge.entries CASCADE",
            "DELETE FROM expunge.places",
            "UPDATE expunge.meta SET value = 'x' WHERE key = 'ledger_id'",
        ):
            with pytest.raises(psycopg.Error, match="append-only") as refused:
                conn.execute(statement)
            assert refused.value.sqlstate == "EX002"
        conn.execute("ALTER TABLE expunge.entries DISABLE TRIGGER entries_append_only")
    with open_store(pg_ledger) as store:
        assert store.integrity_check() == (
            "the trigger refusing changes to entries is missing or disabled",
        )
