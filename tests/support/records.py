"""Helpers for the ledger-and-destruction tests: documents, CLI calls, raw SQLite edits."""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import blake3

from expunge.core.canonical import canonical_bytes
from expunge.ledger.chain import GENESIS_HASH, entry_hash
from expunge.ledger.store import SQLiteLedgerStore
from tests.support import Result, run_cli
from tests.support.json_output import report_json


def make_document(path: Path, size: int = 256 << 10) -> bytes:
    """A file of random content (a canary no other file shares); returns the content."""
    content = os.urandom(size)
    path.write_bytes(content)
    return content


def digest_of(path: Path) -> str:
    """BLAKE3 hex of a file."""
    return blake3.blake3(path.read_bytes()).hexdigest()


def ok(result: Result) -> Result:
    """``result``, asserted successful (the output is in the message when not)."""
    assert result.code == 0, result
    return result


def register(home: Path, path: Path, *args: str) -> str:
    """``ledger register PATH`` (secret unless told otherwise); the new document id."""
    level = [] if "--classification" in args else ["--classification", "secret"]
    result = ok(run_cli("ledger", "register", path, *level, *args, "--json", home=home))
    return str(json.loads(result.out)["doc_id"])


def one_line_error(result: Result, code: int) -> str:
    """The single stderr line of a refused command, with its exit code checked."""
    assert result.code == code, result
    assert "Traceback" not in result.err + result.out, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("expunge: "), result
    return lines[0]


def ledger_id(db: Path) -> str:
    """The id of the ledger in ``db``."""
    with SQLiteLedgerStore(db, create=False) as store:
        return store.ledger_id


def rows(db: Path) -> list[tuple[int, str, bytes, bytes]]:
    """``(seq, record, prev_hash, hash)`` of every entry, straight from SQLite."""
    with closing(sqlite3.connect(db)) as conn:
        return list(conn.execute("SELECT seq, record, prev_hash, hash FROM entries ORDER BY seq"))


def execute(db: Path, sql: str, *params: object) -> None:
    """Run one statement on the ledger file, as an attacker with file access would."""
    conn = sqlite3.connect(db)
    try:
        conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def record_of(db: Path, seq: int) -> dict[str, object]:
    """The parsed record of entry ``seq``."""
    found = {s: r for s, r, _, _ in rows(db)}
    value = json.loads(found[seq])
    assert isinstance(value, dict)
    return value


def rewrite(db: Path, seq: int, record: dict[str, object]) -> None:
    """Replace entry ``seq``'s record and recompute every hash from there on, so that the
    chain itself is intact again: only signed anchors can tell."""
    lid = ledger_id(db)
    execute(
        db, "UPDATE entries SET record = ? WHERE seq = ?", canonical_bytes(record).decode(), seq
    )
    rehash(db, lid)


def rehash(db: Path, lid: str) -> None:
    """Relink every entry of ``db`` (an attacker covering their tracks)."""
    prev = GENESIS_HASH
    conn = sqlite3.connect(db)
    try:
        for seq, record in list(conn.execute("SELECT seq, record FROM entries ORDER BY seq")):
            digest = entry_hash(lid, seq, prev, record.encode())
            conn.execute(
                "UPDATE entries SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq)
            )
            prev = digest
        conn.commit()
    finally:
        conn.close()


def append_raw(db: Path, record: dict[str, object]) -> int:
    """Append ``record`` after the last entry with a correct chain hash, as someone with
    write access to the file but no station key can; returns its seq."""
    lid = ledger_id(db)
    last = rows(db)[-1]
    seq, prev = last[0] + 1, bytes(last[3])
    data = canonical_bytes(record)
    execute(
        db,
        "INSERT INTO entries (seq, record, prev_hash, hash) VALUES (?, ?, ?, ?)",
        seq,
        data.decode(),
        prev,
        entry_hash(lid, seq, prev, data),
    )
    return seq


def audit_json(home: Path, *args: str) -> dict[str, object]:
    """``expunge audit --json``: its report, whatever the exit code (checked to be 0 or 7,
    with one line on stderr when 7 and no traceback)."""
    result = run_cli("audit", "--json", *args, home=home)
    assert result.code in (0, 7), result
    assert "Traceback" not in result.err + result.out, result
    if result.code == 7:
        assert len(result.err.strip().splitlines()) == 1, result.err
    report = report_json(result, "audit")
    assert report["ok"] is (result.code == 0)
    return report


def problems(report: dict[str, object]) -> list[tuple[int | None, str]]:
    """``(seq, kind)`` of every problem of an audit report."""
    found = report["problems"]
    assert isinstance(found, list)
    return [(p["seq"], p["kind"]) for p in found]
