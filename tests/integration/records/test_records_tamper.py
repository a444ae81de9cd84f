"""Tampering with the ledger file (raw SQLite edits, as anyone with file access could make)
is caught by ``expunge audit``: exit 7, the seq named, no traceback."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge.certificates import Envelope, sign_envelope
from expunge.workflows.audit import MAX_CERTIFICATE_FILE
from tests.support import run_cli
from tests.support.records import (
    execute,
    make_document,
    ok,
    record_of,
    register,
    rewrite,
    rows,
)

# The story in the pristine ledger:
#  1 register A   2 copy A -> path   3 destroy A (certificate 1, anchor seq 2)
#  4 register B   5 destroy B by shred (certificate 2, anchor seq 4)
#  6 register C   7 transfer C       8 checkpoint (signs seq 7)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pristine")
    home = folder / "home"
    a, b, c = (folder / f"{name}.txt" for name in "abc")
    for path in (a, b, c):
        make_document(path, 8192)
    doc_a = register(home, a, "--id", "DOC-A")
    copy = folder / "a-copy.txt"
    copy.write_bytes(a.read_bytes())
    ok(run_cli("ledger", "copy", doc_a, "--to", copy, home=home))
    ok(run_cli("destroy", doc_a, "--yes", home=home))
    register(home, b, "--id", "DOC-B")
    ok(run_cli("shred", b, home=home))
    register(home, c, "--id", "DOC-C")
    ok(run_cli("ledger", "transfer", "DOC-C", "--to", "bob", home=home))
    ok(run_cli("ledger", "checkpoint", home=home))
    assert [seq for seq, *_ in rows(home / "ledger.db")] == list(range(1, 9))
    assert ok(run_cli("audit", home=home)).code == 0
    return home


@pytest.fixture
def home(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the pristine home, to tamper with."""
    copy = tmp_path / "home"
    shutil.copytree(pristine, copy)
    return copy


def audit_problems(home: Path, *args: str) -> list[tuple[int | None, str]]:
    """Run ``expunge audit --json``: it must fail with 7, and say where."""
    result = run_cli("audit", "--json", *args, home=home)
    assert result.code == 7, result
    assert "Traceback" not in result.err + result.out
    assert len(result.err.strip().splitlines()) == 1, result.err
    return [(p["seq"], p["kind"]) for p in json.loads(result.out)["problems"]]


def certificates(home: Path) -> list[Path]:
    return sorted((home / "certificates").glob("*.cert.json"))


def _downgrade(home: Path) -> None:
    execute(
        home / "ledger.db",
        "UPDATE entries SET record = replace(record, '\"secret\"', '\"public\"') WHERE seq = 4",
    )


TAMPERING: dict[str, tuple[Callable[[Path], None], tuple[int, str]]] = {
    "edit a record": (_downgrade, (4, "hash-mismatch")),
    "edit prev_hash": (
        lambda h: execute(
            h / "ledger.db", "UPDATE entries SET prev_hash = ? WHERE seq = 5", b"\1" * 32
        ),
        (5, "broken-link"),
    ),
    "edit hash": (
        lambda h: execute(h / "ledger.db", "UPDATE entries SET hash = ? WHERE seq = 6", b"\2" * 32),
        (6, "hash-mismatch"),
    ),
    "delete an entry": (
        lambda h: execute(h / "ledger.db", "DELETE FROM entries WHERE seq = 5"),
        (5, "gap"),
    ),
    "duplicate an entry": (
        lambda h: execute(
            h / "ledger.db",
            "INSERT INTO entries (seq, record, prev_hash, hash) "
            "SELECT 9, record, prev_hash, hash FROM entries WHERE seq = 7",
        ),
        (9, "broken-link"),
    ),
    "cut the last destruction": (
        lambda h: execute(h / "ledger.db", "DELETE FROM entries WHERE seq >= 5"),
        (5, "unrecorded"),
    ),
    "truncate below a certificate's anchor": (
        lambda h: execute(h / "ledger.db", "DELETE FROM entries WHERE seq >= 3"),
        (4, "truncated"),
    ),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_raw_edits_are_named_by_seq(home: Path, case: str) -> None:
    tamper, expected = TAMPERING[case]
    tamper(home)
    assert expected in audit_problems(home)


def test_swapped_entries(home: Path) -> None:
    db = home / "ledger.db"
    (_, r6, p6, h6), (_, r7, p7, h7) = [r for r in rows(db) if r[0] in (6, 7)]
    execute(db, "UPDATE entries SET record = ?, prev_hash = ?, hash = ? WHERE seq = 6", r7, p7, h7)
    execute(db, "UPDATE entries SET record = ?, prev_hash = ?, hash = ? WHERE seq = 7", r6, p6, h6)
    found = audit_problems(home)
    assert (6, "broken-link") in found and (7, "broken-link") in found


def test_history_rewritten_with_a_valid_chain_is_caught_by_signed_anchors(home: Path) -> None:
    record = record_of(home / "ledger.db", 1)
    event = record["event"]
    assert isinstance(event, dict)
    event["classification"] = "public"
    rewrite(home / "ledger.db", 1, record)
    found = audit_problems(home)
    # The certificates recorded entries 2 and 4 as they were; the checkpoint signed 7.
    assert (2, "anchor-mismatch") in found
    assert (4, "anchor-mismatch") in found
    assert (8, "checkpoint-mismatch") in found


def test_certificate_replaced_inside_a_destroy_event(home: Path) -> None:
    db = home / "ledger.db"
    record = record_of(db, 3)
    other = record_of(db, 5)["event"]
    assert isinstance(other, dict) and isinstance(record["event"], dict)
    record["event"]["envelope"] = other["envelope"]
    rewrite(db, 3, record)
    found = audit_problems(home)
    assert (3, "certificate") in found  # cites certificate 1, carries certificate 2
    assert (3, "subject") in found  # certificate 2 does not name A's paths


def test_certificate_forged_with_another_key(home: Path) -> None:
    db = home / "ledger.db"
    record = record_of(db, 3)
    event = record["event"]
    assert isinstance(event, dict)
    genuine = Envelope.from_dict(event["envelope"])
    forged = sign_envelope(genuine.payload, Ed25519PrivateKey.generate())
    event["envelope"] = forged.to_dict()
    rewrite(db, 3, record)
    found = audit_problems(home)
    assert (3, "certificate") in found
    result = run_cli("audit", home=home)
    assert "seq 3: the certificate of DOC-A's destruction is not acceptable: unknown-key" in (
        result.out
    )


def test_certificate_files_are_checked(home: Path) -> None:
    first = certificates(home)[0]
    data = json.loads(first.read_bytes())
    data["signatures"][0]["sig"] = data["signatures"][0]["sig"][::-1]
    # Renamed, so the ledger's copy does not stand in for it.
    first.unlink()
    (home / "certificates" / "copy.cert.json").write_text(json.dumps(data))
    assert (None, "certificate-file") in audit_problems(home)


def test_a_certificate_file_of_a_large_tree_is_read(home: Path) -> None:
    """``shred -r`` of 10,000 files issues some 17 MB: more than the 16 MiB audits once read."""
    first = certificates(home)[0]
    padded = first.read_bytes() + b" " * (17 << 20)  # JSON whitespace: the same envelope
    first.unlink()
    (home / "certificates" / "copy.cert.json").write_bytes(padded)
    result = run_cli("audit", home=home)
    assert result.code == 0, result
    assert "audit: OK" in result.out


def test_a_file_beyond_any_certificate_size_is_named_not_parsed(home: Path) -> None:
    huge = home / "certificates" / "huge.cert.json"
    with huge.open("wb") as handle:
        handle.truncate(MAX_CERTIFICATE_FILE + 1)  # sparse: nothing is written
    result = run_cli("audit", "--json", home=home)
    assert result.code == 7, result
    (problem,) = json.loads(result.out)["problems"]
    assert problem == {
        "seq": None,
        "kind": "certificate-file",
        "message": f"{huge}: larger than {MAX_CERTIFICATE_FILE >> 20} MiB: not read",
    }


def test_deleted_ledger_with_certificates_left(home: Path) -> None:
    for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm"):
        (home / name).unlink(missing_ok=True)
    found = audit_problems(home)
    assert (4, "truncated") in found


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("garbage", "not an SQLite database"),
        ("cut", "damaged"),
    ],
)
def test_corrupt_database_is_one_line(home: Path, damage: str, expected: str) -> None:
    db = home / "ledger.db"
    # Fold the WAL in first, so the damage hits the entries themselves.
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = db.read_bytes()
    if damage == "garbage":
        db.write_bytes(b"\x00garbage" * 512)
    else:
        db.write_bytes(data[: len(data) // 2] + b"\xff" * 100)
    result = run_cli("audit", home=home)
    assert result.code == 7, result
    assert "Traceback" not in result.err + result.out
    (line,) = result.err.strip().splitlines()
    assert expected in line


def test_edited_export_names_the_seq(home: Path, tmp_path: Path) -> None:
    export = tmp_path / "ledger.jsonl"
    ok(run_cli("ledger", "export", "-o", export, home=home))
    assert ok(run_cli("audit", "--export", export, home=home)).code == 0
    lines = export.read_text().splitlines()
    lines[5] = lines[5].replace('"DOC-C"', '"DOC-X"')
    export.write_text("\n".join(lines) + "\n")
    found = audit_problems(home, "--export", str(export))
    assert (6, "hash-mismatch") in found
