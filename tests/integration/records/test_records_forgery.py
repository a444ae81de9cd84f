"""The ledger proves what it says: entries are signed by their station (record format v2),
certificates are tied to the documents their entries name, and the station's head record
anchors the end of the ledger. Each attack here passed ``expunge audit`` before."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from expunge.core.clock import utc_now
from expunge.core.config import Home, StationSettings
from expunge.ledger.events import event_from_dict
from expunge.workflows import certify, records
from tests.support import run_cli
from tests.support.records import (
    append_raw,
    audit_json,
    execute,
    make_document,
    ok,
    one_line_error,
    problems,
    record_of,
    register,
    rewrite,
    rows,
)
from tests.support.sealflow import seal, wrapped_key


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two sealed documents; DOC-A's key crypto-erased (its destroy entry is the last)."""
    folder = tmp_path_factory.mktemp("sealed")
    home = folder / "home"
    for name in ("DOC-A", "DOC-B"):
        make_document(folder / f"{name}.pdf", 64 << 10)
        seal(home, folder / f"{name}.pdf", "--doc", name, "--classification", "secret")
    ok(run_cli("destroy", "DOC-A", "--yes", home=home))
    report = audit_json(home)
    assert report["ok"], report["problems"]
    return home


@pytest.fixture
def home(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the pristine home (its sealed files stay where they were)."""
    copy = tmp_path / "home"
    shutil.copytree(pristine, copy)
    return copy


def _destroy_of_a(db: Path) -> dict[str, Any]:
    (seq,) = [s for s, record, *_ in rows(db) if '"key_erased":true' in record]
    return record_of(db, seq)


def _replayed_for_b(db: Path) -> dict[str, Any]:
    """DOC-A's crypto-erase event, now naming DOC-B (its key was never erased)."""
    event = dict(_destroy_of_a(db)["event"])
    event.update(doc_id="DOC-B", paths=[], key_erased=True)
    return event


@pytest.mark.parametrize("form", ["v1", "v2 unsigned", "v2 bogus signature"])
def test_a_forged_destroy_entry_replaying_a_key_erasure_fails_the_audit(
    home: Path, form: str
) -> None:
    db = home / "ledger.db"
    genuine = _destroy_of_a(db)
    record: dict[str, Any] = {
        "time": genuine["time"],
        "actor": genuine["actor"],
        "event": _replayed_for_b(db),
    }
    if form != "v1":
        record.update(version=2, station=genuine["station"], signature=None)
    if form == "v2 bogus signature":
        record["signature"] = {"from_seq": rows(db)[-1][0] + 1, "sig": os.urandom(64).hex()}
    seq = append_raw(db, record)

    # What the forgery claims, and what is true: DOC-B's key is still in the key store.
    shown = json.loads(ok(run_cli("ledger", "show", "DOC-B", "--json", home=home)).out)
    assert shown["status"] == "destroyed"
    assert len(wrapped_key(home, "DOC-B")) > 0

    report = audit_json(home)
    found = problems(report)
    assert (seq, "unauthenticated" if form != "v2 bogus signature" else "bad-entry-signature") in (
        found
    )
    assert (seq, "subject") in found  # the certificate erased DOC-A's key, not DOC-B's
    messages = [p["message"] for p in report["problems"]]  # type: ignore[attr-defined]
    assert any("erased the key of DOC-A" in m and "not DOC-B's" in m for m in messages)


def test_the_station_itself_cannot_pass_off_another_documents_key_erasure(home: Path) -> None:
    """Signed by the station's own key, the entry authenticates; the subject tie still
    fails it: a key erasure proves the destruction of that document's key only."""
    station = certify.Station.open(Home(home), StationSettings(operator="mallory"), None)
    event = event_from_dict(_replayed_for_b(home / "ledger.db"))
    with records.existing_ledger(Home(home), station) as store:  # type: ignore[union-attr]
        entry = store.append(event, actor="mallory", now=utc_now())
    report = audit_json(home)
    assert problems(report) == [(entry.seq, "subject")]
    authenticity = report["authenticity"]
    assert isinstance(authenticity, dict)
    assert authenticity["authenticated"] == authenticity["v2_entries"] == entry.seq


def test_an_edited_signed_entry_fails_even_with_the_chain_relinked(home: Path) -> None:
    db = home / "ledger.db"
    record = record_of(db, 1)
    record["event"]["classification"] = "public"  # type: ignore[index]
    rewrite(db, 1, record)
    found = problems(audit_json(home))
    assert (1, "bad-entry-signature") in found


# -- the station's head record anchors the end of the ledger ---------------------------


@pytest.fixture
def shredded_elsewhere(tmp_path: Path, cli_home: Path) -> tuple[Path, Path]:
    """A registered document shredded with its certificate written outside the home."""
    target = tmp_path / "payroll.xlsx"
    make_document(target, 64 << 10)
    register(cli_home, target)
    cert = tmp_path / "elsewhere" / "payroll.cert.json"
    cert.parent.mkdir()
    ok(run_cli("shred", target, "--cert-out", cert, home=cli_home))
    assert not (cli_home / "certificates").exists() or not any(
        (cli_home / "certificates").iterdir()
    )
    return cli_home, cert


def test_deleting_the_tail_destroy_entry_is_caught_by_the_head_record(
    shredded_elsewhere: tuple[Path, Path],
) -> None:
    home, _ = shredded_elsewhere
    db = home / "ledger.db"
    last = rows(db)[-1][0]
    assert '"destroy"' in rows(db)[-1][1]
    assert audit_json(home)["ok"]
    execute(db, "DELETE FROM entries WHERE seq = ?", last)

    shown = json.loads(ok(run_cli("ledger", "list", "--json", home=home)).out)["items"]
    assert shown[0]["status"] == "registered"  # what the deletion claims
    report = audit_json(home)
    assert problems(report) == [(last, "truncated")]
    assert "head record" in report["problems"][0]["message"]  # type: ignore[index]


def test_a_removed_or_altered_head_record_is_a_problem(
    shredded_elsewhere: tuple[Path, Path],
) -> None:
    home, _ = shredded_elsewhere
    head = home / "ledger-head"
    data = json.loads(head.read_text())
    data["seq"] -= 1  # point it below the destroy entry
    head.write_text(json.dumps(data))
    assert problems(audit_json(home)) == [(None, "head-record")]
    head.unlink()
    report = audit_json(home)
    assert problems(report) == [(None, "head-record")]
    assert "is missing" in report["problems"][0]["message"]  # type: ignore[index]


def test_a_deleted_ledger_is_not_silently_replaced(
    shredded_elsewhere: tuple[Path, Path], tmp_path: Path
) -> None:
    home, _ = shredded_elsewhere
    for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm"):
        (home / name).unlink(missing_ok=True)
    other = tmp_path / "other.txt"
    make_document(other, 4096)
    line = one_line_error(
        run_cli("ledger", "register", other, "--classification", "secret", home=home), 7
    )
    assert "the ledger is missing, but this station appended entry" in line
    assert not (home / "ledger.db").exists()
    assert [kind for _, kind in problems(audit_json(home))] == ["truncated"]


def test_the_head_record_is_an_anchor_an_auditor_can_take_away(
    shredded_elsewhere: tuple[Path, Path], tmp_path: Path
) -> None:
    home, _ = shredded_elsewhere
    kept = tmp_path / "kept-head.json"
    kept.write_bytes((home / "ledger-head").read_bytes())
    db = home / "ledger.db"
    last = rows(db)[-1][0]
    execute(db, "DELETE FROM entries WHERE seq = ?", last)
    (home / "ledger-head").unlink()  # the intruder removes the station's copy too
    found = problems(audit_json(home, "--anchor", str(kept)))
    assert (last, "truncated") in found
