"""The SQLite store: durable settings, appends, ids, refusals, opening bad files, tampering."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from expunge.core.errors import ExpungeError, IntegrityError, TargetError, UsageError
from expunge.ledger.chain import ChainReport, verify_chain
from expunge.ledger.entries import Entry, Head
from expunge.ledger.events import Checkpoint, Copy, Event, Register, Transfer
from expunge.ledger.keystore import SQLiteKeyStore
from expunge.ledger.state import document_state
from expunge.ledger.store import SQLiteLedgerStore
from tests.support.ledger import NOW, STATION, Signer, destroy, register, sample_events


def _verify(path: Path, anchors: Sequence[Head] = ()) -> ChainReport:
    with SQLiteLedgerStore(path, create=False) as store:
        return verify_chain(store.raw_entries(), ledger_id=store.ledger_id, anchors=anchors)


def _filled(path: Path, documents: int = 4) -> list[Event]:
    events = sample_events(documents)
    with SQLiteLedgerStore(path, signer=STATION) as store:
        for event in events:
            store.append(event, actor="op", now=NOW)
    return events


def test_a_new_ledger_is_private_durable_and_keeps_its_id(ledger_path: Path) -> None:
    with SQLiteLedgerStore(ledger_path, signer=STATION) as store:
        ledger_id = store.ledger_id
        assert store.durability() == {
            "journal_mode": "wal",
            "synchronous": "FULL",
            "secure_delete": True,
        }
        assert store.head() is None
        store.append(register("DOC-1"), actor="op", now=NOW)
        assert stat.S_IMODE(os.stat(ledger_path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(f"{ledger_path}-wal").st_mode) == 0o600
    with SQLiteLedgerStore(ledger_path, signer=STATION) as again:
        assert again.ledger_id == ledger_id
    with SQLiteLedgerStore(ledger_path.with_name("other.db")) as other:
        assert other.ledger_id != ledger_id


def test_appends_link_and_read_back_identically(store: SQLiteLedgerStore) -> None:
    appended = [store.append(e, actor="op", now=NOW) for e in sample_events(3)]
    assert [e.seq for e in appended] == list(range(1, 16))
    assert list(store.entries()) == appended
    assert list(store.entries(from_seq=14)) == appended[13:]
    assert store.head() == appended[-1].head
    assert store.document_entries("DOC-2026-000002") == tuple(appended[5:10])
    assert verify_chain(store.raw_entries(), ledger_id=store.ledger_id).ok
    assert store.integrity_check() == ()


def test_generated_ids_count_up_within_the_year(store: SQLiteLedgerStore) -> None:
    def make(doc_id: str) -> Register:
        return register(doc_id)

    first = store.register_new(make, actor="op", now=NOW)
    second = store.register_new(make, actor="op", now=NOW)
    store.append(register("DOC-2026-000500"), actor="op", now=NOW)
    third = store.register_new(make, actor="op", now=NOW)
    next_year = store.register_new(make, actor="op", now=datetime(2027, 1, 1, tzinfo=UTC))
    assert [e.event.doc_id for e in (first, second, third, next_year)] == [
        "DOC-2026-000001",
        "DOC-2026-000002",
        "DOC-2026-000501",
        "DOC-2027-000001",
    ]


def test_a_duplicate_id_is_refused_and_nothing_is_written(store: SQLiteLedgerStore) -> None:
    store.append(register("DOC-1"), actor="op", now=NOW)
    head = store.head()
    with pytest.raises(UsageError, match="already registered"):
        store.append(register("DOC-1", title="another"), actor="op", now=NOW)
    assert store.head() == head  # nothing written


def test_an_event_for_an_unknown_document_is_refused(store: SQLiteLedgerStore) -> None:
    with pytest.raises(TargetError, match="no such document"):
        store.append(Copy("DOC-404", to_medium="S"), actor="op", now=NOW)
    assert store.head() is None


def test_append_many_is_all_or_nothing(store: SQLiteLedgerStore) -> None:
    store.append(register("DOC-1"), actor="op", now=NOW)
    head = store.head()
    batch: list[Event] = [Copy("DOC-1", to_medium="S1"), destroy("DOC-1", media=["S2"])]
    with pytest.raises(ExpungeError, match="no outstanding copy on medium S2"):
        store.append_many(batch, actor="op", now=NOW)
    assert store.head() == head  # nothing written
    ok = store.append_many(
        [Copy("DOC-1", to_medium="S2"), destroy("DOC-1", media=["S2"])], actor="op", now=NOW
    )
    assert [e.seq for e in ok] == [2, 3]
    state = document_state(store.entries(), "DOC-1", NOW)
    assert state is not None and not state.outstanding


def test_a_store_checkpoint_signs_the_head_and_verifies(store: SQLiteLedgerStore) -> None:
    signer = Signer()
    with pytest.raises(UsageError, match="nothing to checkpoint"):
        store.checkpoint(signer.sign, actor="op", now=NOW)
    store.append(register("DOC-1"), actor="op", now=NOW)
    head = store.head()
    assert head is not None
    entry = store.checkpoint(signer.sign, actor="op", now=NOW)
    assert isinstance(entry.event, Checkpoint)
    assert (entry.event.seq, entry.event.head_hash) == (head.seq, head.hash.hex())
    report = verify_chain(
        store.raw_entries(), ledger_id=store.ledger_id, checkpoint_verifier=signer.verify
    )
    assert report.ok and report.checkpoints_verified == 1
    stale = Checkpoint(head.seq, head.hash.hex(), signer.keyid, "00")
    with pytest.raises(UsageError, match="current head"):
        store.append(stale, actor="op", now=NOW)


def test_each_transaction_is_signed_once_and_heard_of_after_its_commit(
    ledger_path: Path,
) -> None:
    heard: list[tuple[int, int]] = []

    def on_commit(entry: Entry) -> None:
        with SQLiteLedgerStore(ledger_path, create=False) as reader:  # committed already
            head = reader.head()
        assert head is not None
        heard.append((entry.seq, head.seq))

    with SQLiteLedgerStore(ledger_path, signer=STATION, on_commit=on_commit) as store:
        batch = store.append_many(
            [register("DOC-1"), Copy("DOC-1", to_medium="S1"), Transfer("DOC-1", "bob")],
            actor="op",
            now=NOW,
        )
        with pytest.raises(ExpungeError):
            store.append(Copy("DOC-404", to_medium="S"), actor="op", now=NOW)
        store.append(Transfer("DOC-1", "carol"), actor="op", now=NOW)
        entries = list(store.entries())
    assert heard == [(3, 3), (4, 4)]  # the refused append committed nothing, said nothing
    assert [e.record.signature is not None for e in entries] == [False, False, True, True]
    assert [e.record.signature.from_seq for e in entries if e.record.signature] == [1, 4]
    assert all(e.station == STATION.station for e in entries)
    assert batch[-1].record.signature == entries[2].record.signature
    report = verify_chain(entries, entry_verifier=STATION.verify)
    assert report.ok and report.authenticity.authenticated == 4


def test_a_store_without_a_signer_reads_but_never_appends(ledger_path: Path) -> None:
    with SQLiteLedgerStore(ledger_path, signer=STATION) as store:
        store.append(register("DOC-1"), actor="op", now=NOW)
    with SQLiteLedgerStore(ledger_path, create=False) as reader:
        assert reader.head() is not None and len(list(reader.entries())) == 1
        with pytest.raises(UsageError, match="without a station key"):
            reader.append(Transfer("DOC-1", "bob"), actor="op", now=NOW)
        assert len(list(reader.entries())) == 1


# -- opening files that are not (sound) ledgers ---------------------------------------------


def _one_line(error: ExpungeError, path: Path) -> str:
    text = error.diagnostics()
    assert "\n" not in text and str(path) in text
    return text


def test_a_file_that_is_not_sqlite_is_refused(ledger_path: Path) -> None:
    ledger_path.write_bytes(os.urandom(8192))
    with pytest.raises(IntegrityError) as caught:
        SQLiteLedgerStore(ledger_path, signer=STATION)
    assert "not an SQLite database" in _one_line(caught.value, ledger_path)


def test_another_applications_database_is_refused_untouched(ledger_path: Path) -> None:
    with sqlite3.connect(ledger_path) as foreign:
        foreign.execute("CREATE TABLE photos (name TEXT)")
    foreign.close()
    before = ledger_path.read_bytes()
    with pytest.raises(IntegrityError) as caught:
        SQLiteLedgerStore(ledger_path, signer=STATION)
    assert "not an expunge ledger" in _one_line(caught.value, ledger_path)
    assert ledger_path.read_bytes() == before


def test_a_key_store_is_not_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "keystore.db"
    SQLiteKeyStore(path).close()
    with pytest.raises(IntegrityError, match="not an expunge ledger"):
        SQLiteLedgerStore(path, signer=STATION)


def test_a_newer_schema_asks_for_an_upgrade(ledger_path: Path) -> None:
    SQLiteLedgerStore(ledger_path, signer=STATION).close()
    with sqlite3.connect(ledger_path) as raw:
        raw.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    raw.close()
    with pytest.raises(IntegrityError) as caught:
        SQLiteLedgerStore(ledger_path, signer=STATION)
    assert "newer than this expunge understands; upgrade expunge" in caught.value.diagnostics()


def test_damaged_pages_are_one_integrity_error(ledger_path: Path) -> None:
    _filled(ledger_path, 40)
    size = ledger_path.stat().st_size
    with open(ledger_path, "r+b") as f:
        f.seek(4096)  # page 2 onwards: the header still says SQLite
        f.write(os.urandom(size - 4096))
    with (
        pytest.raises(IntegrityError) as caught,
        SQLiteLedgerStore(ledger_path, signer=STATION) as store,
    ):
        list(store.raw_entries())
    assert "damaged" in _one_line(caught.value, ledger_path)


def test_missing_ledger_or_folder_is_a_target_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="no ledger here"):
        SQLiteLedgerStore(tmp_path / "ledger.db", create=False)
    with pytest.raises(TargetError, match="cannot create the ledger"):
        SQLiteLedgerStore(tmp_path / "no-such-home" / "ledger.db")


# -- tampering with raw SQL on the file -----------------------------------------------------


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 0x01]) + value[1:]


def _tamper(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    raw = sqlite3.connect(path)
    with raw:
        for sql, args in statements:
            raw.execute(sql, args)
    raw.close()


def _hash_column(path: Path, column: str, seq: int) -> bytes:
    raw = sqlite3.connect(path)
    value = raw.execute(f"SELECT {column} FROM entries WHERE seq = ?", (seq,)).fetchone()[0]
    raw.close()
    assert isinstance(value, bytes)
    return value


EDITS: dict[str, Callable[[Path, int], tuple[str, tuple[object, ...]]]] = {
    "seq": lambda p, s: ("UPDATE entries SET seq = seq + 1000 WHERE seq = ?", (s,)),
    "record": lambda p, s: (
        'UPDATE entries SET record = replace(record, \'"actor":"op"\', \'"actor":"eve"\')'
        " WHERE seq = ?",
        (s,),
    ),
    "prev_hash": lambda p, s: (
        "UPDATE entries SET prev_hash = ? WHERE seq = ?",
        (_flip(_hash_column(p, "prev_hash", s)), s),
    ),
    "hash": lambda p, s: (
        "UPDATE entries SET hash = ? WHERE seq = ?",
        (_flip(_hash_column(p, "hash", s)), s),
    ),
}


@pytest.mark.parametrize("seq", [1, 9, 20])
@pytest.mark.parametrize("column", list(EDITS))
def test_editing_any_column_of_any_entry_is_found_at_its_seq(
    ledger_path: Path, column: str, seq: int
) -> None:
    _filled(ledger_path)
    assert _verify(ledger_path).ok
    _tamper(ledger_path, EDITS[column](ledger_path, seq))
    report = _verify(ledger_path)
    assert not report.ok
    assert seq in report.problem_seqs


def test_a_deleted_entry_is_found(ledger_path: Path) -> None:
    _filled(ledger_path)
    _tamper(ledger_path, ("DELETE FROM entries WHERE seq = ?", (7,)))
    report = _verify(ledger_path)
    assert [(p.seq, p.kind) for p in report.problems] == [(7, "gap")]


def test_swapped_entries_are_found(ledger_path: Path) -> None:
    _filled(ledger_path)
    columns = "record, prev_hash, hash"
    _tamper(
        ledger_path,
        (f"CREATE TABLE swap AS SELECT seq, {columns} FROM entries WHERE seq IN (5, 6)", ()),
        (
            "UPDATE entries SET (record, prev_hash, hash) = "
            "(SELECT record, prev_hash, hash FROM swap WHERE swap.seq = 11 - entries.seq) "
            "WHERE seq IN (5, 6)",
            (),
        ),
        ("DROP TABLE swap", ()),
    )
    report = _verify(ledger_path)
    assert {5, 6} <= set(report.problem_seqs)


def test_a_duplicated_entry_is_found(ledger_path: Path) -> None:
    _filled(ledger_path)
    _tamper(  # rebuild the table without its primary key, then insert a copy of entry 5
        ledger_path,
        ("DROP INDEX entries_doc_id", ()),
        ("CREATE TABLE loose AS SELECT * FROM entries", ()),
        ("DROP TABLE entries", ()),
        ("ALTER TABLE loose RENAME TO entries", ()),
        ("INSERT INTO entries SELECT * FROM entries WHERE seq = 5", ()),
    )
    report = _verify(ledger_path)
    assert [(p.seq, p.kind) for p in report.problems] == [(5, "duplicate")]


def test_a_truncated_tail_is_found_against_an_anchor(ledger_path: Path) -> None:
    _filled(ledger_path)
    with SQLiteLedgerStore(ledger_path, signer=STATION) as store:
        anchor = store.head()
    assert anchor is not None
    _tamper(ledger_path, ("DELETE FROM entries WHERE seq > 17", ()))
    assert _verify(ledger_path).ok  # without an anchor, a clean cut cannot be seen
    report = _verify(ledger_path, anchors=[anchor])
    assert [(p.seq, p.kind) for p in report.problems] == [(20, "truncated")]


def test_a_replaced_certificate_in_a_destroy_event_is_found(ledger_path: Path) -> None:
    _filled(ledger_path)
    _tamper(
        ledger_path,
        (
            "UPDATE entries SET record = replace(record, 'CERT-2', 'CERT-X') WHERE seq = ?",
            (10,),
        ),
    )
    report = _verify(ledger_path)
    assert [(p.seq, p.kind) for p in report.problems] == [(10, "hash-mismatch")]


def test_a_changed_ledger_id_breaks_every_entry(ledger_path: Path) -> None:
    _filled(ledger_path, 1)
    _tamper(ledger_path, ("UPDATE meta SET value = 'forged' WHERE key = 'ledger_id'", ()))
    assert _verify(ledger_path).problem_seqs == (1, 2, 3, 4, 5)


def test_a_vandalised_record_is_reported_not_raised(ledger_path: Path) -> None:
    _filled(ledger_path, 1)
    _tamper(
        ledger_path,
        ("DROP INDEX entries_doc_id", ()),
        ("UPDATE entries SET record = CAST(x'ff00' AS TEXT) WHERE seq = 3", ()),
    )
    report = _verify(ledger_path)
    assert {(3, "hash-mismatch"), (3, "malformed")} <= {(p.seq, p.kind) for p in report.problems}
    with (
        SQLiteLedgerStore(ledger_path, signer=STATION) as store,
        pytest.raises(IntegrityError) as caught,
    ):
        list(store.entries())
    assert "ledger entry 3" in _one_line(caught.value, ledger_path)
