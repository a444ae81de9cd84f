"""The places index: which documents had a location at a path or medium, derived from the
entries, kept in step on append and rebuilt from the entries whenever it is missing or
behind; and event paths that are not UTF-8, recorded losslessly."""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path

import pytest

from expunge.core.errors import IntegrityError
from expunge.ledger import place_index
from expunge.ledger.events import Copy, Event, Seal, Transfer, event_from_dict
from expunge.ledger.store import SQLiteLedgerStore
from tests.support.ledger import NOW, STATION, destroy, register

RAW = os.fsdecode(b"/srv/caf\xe9/r\xffport.pdf")  # not UTF-8: lone surrogates in the str


def _life(rng: random.Random, n: int) -> list[Event]:
    """A document's events at generated places: nested folders, look-alike prefixes
    (/srv/a vs /srv/ab), media, seals, destructions."""
    doc = f"DOC-2026-{n:06d}"
    folder = rng.choice(["/srv/a", "/srv/ab", "/srv/a/b", "/srv/a/b/c", "/home/x", "/srv/a-b"])
    events: list[Event] = [register(doc, f"{folder}/f{n}.pdf")]
    if rng.random() < 0.4:
        events.append(Copy(doc, to_path=f"{rng.choice(['/media/u', '/srv/ab'])}/c{n}.pdf"))
    if rng.random() < 0.3:
        events.append(Copy(doc, to_medium=rng.choice(["SER-1", "SER-2", "SER-10"])))
    if rng.random() < 0.2:
        events.append(Seal(doc, f"/vault/{doc}.sealed", f"key-{n}"))
    if rng.random() < 0.3:
        events.append(Transfer(doc, "bob"))
    if rng.random() < 0.2:
        events.append(destroy(doc, paths=[f"{folder}/f{n}.pdf"]))
    return events


QUERIES = [
    ["/srv/a"],
    ["/srv/ab"],
    ["/srv/a/b"],
    ["/srv/a/b/c", "/media/u"],
    ["/"],
    ["/srv"],
    ["/srv/a-b", "/nowhere"],
    ["/vault"],
    [RAW],
    [os.path.dirname(RAW)],
    ["/srv/a/b/c/f3.pdf"],
]


def _answers(store: SQLiteLedgerStore) -> list[frozenset[str]]:
    return [frozenset(store.documents_at(q, ())) for q in QUERIES] + [
        frozenset(store.documents_at((), (m,))) for m in ("SER-1", "SER-2", "SER-10", "SER")
    ]


def _scanned(store: SQLiteLedgerStore) -> list[frozenset[str]]:
    entries = list(store.entries())
    return [place_index.scan(entries, q, None) for q in QUERIES] + [
        place_index.scan(entries, [], m) for m in ("SER-1", "SER-2", "SER-10", "SER")
    ]


@pytest.fixture
def filled(store: SQLiteLedgerStore) -> SQLiteLedgerStore:
    """A ledger of 300 generated document lives, appended in batches and one by one, and
    one document whose path is not UTF-8."""
    rng = random.Random(7)
    lives = [e for n in range(1, 301) for e in _life(rng, n)]
    store.append_many(lives[:500], actor="t", now=NOW)
    for event in lives[500:600]:
        store.append(event, actor="t", now=NOW)
    store.append_many(lives[600:], actor="t", now=NOW)
    store.append(register("DOC-RAW", RAW), actor="t", now=NOW)
    return store


def test_the_index_answers_as_a_scan_of_the_entries_does(filled: SQLiteLedgerStore) -> None:
    answers = _answers(filled)
    assert answers == _scanned(filled)
    assert answers[QUERIES.index([RAW])] == {"DOC-RAW"}
    assert "DOC-RAW" in answers[QUERIES.index(["/"])]
    # A folder covers what is below it, not its look-alikes.
    below_a = answers[QUERIES.index(["/srv/a"])]
    assert below_a and not below_a & answers[QUERIES.index(["/srv/a-b", "/nowhere"])] - below_a


@pytest.mark.parametrize(
    "damage",
    [
        "DROP TABLE places",
        "DELETE FROM meta WHERE key = 'places_seq'",
        "UPDATE meta SET value = '3' WHERE key = 'places_seq'",  # behind: an older writer
        "UPDATE meta SET value = '999999' WHERE key = 'places_seq'",  # beyond the entries
    ],
)
def test_an_index_dropped_or_behind_is_rebuilt_with_the_same_answers(
    filled: SQLiteLedgerStore, ledger_path: Path, damage: str
) -> None:
    before = _answers(filled)
    filled.close()
    with sqlite3.connect(ledger_path) as conn:
        conn.execute(damage)
        if "UPDATE" in damage:
            conn.execute("DELETE FROM places WHERE seq > 3")
    with SQLiteLedgerStore(ledger_path, create=False) as reader:
        assert _answers(reader) == before
    with SQLiteLedgerStore(ledger_path, signer=STATION) as writer:
        # Appending after the damage also finds the index complete, and keeps it so.
        writer.append(Copy("DOC-2026-000001", to_path="/srv/a/new.pdf"), actor="t", now=NOW)
        assert "DOC-2026-000001" in writer.documents_at(["/srv/a/new.pdf"], ())
        assert _answers(writer) == _scanned(writer)


def test_a_ledger_created_before_the_index_existed_is_indexed_on_first_use(
    filled: SQLiteLedgerStore, ledger_path: Path
) -> None:
    before = _answers(filled)
    filled.close()
    with sqlite3.connect(ledger_path) as conn:  # what an older expunge created
        conn.execute("DROP TABLE places")
        conn.execute("DELETE FROM meta WHERE key = 'places_seq'")
    with SQLiteLedgerStore(ledger_path, signer=STATION) as store:
        assert _answers(store) == before
    with sqlite3.connect(ledger_path) as conn:
        (count,) = conn.execute("SELECT count(*) FROM places").fetchone()
    assert count > 300


def test_non_utf8_paths_round_trip_and_utf8_events_keep_their_old_form() -> None:
    for event in (
        register("DOC-1", RAW),
        Copy("DOC-1", to_path=RAW),
        Seal("DOC-1", RAW + ".sealed", "k"),
        destroy("DOC-1", paths=["/srv/plain.pdf", RAW]),
    ):
        data = event.to_dict()
        assert event_from_dict(data) == event
        assert not any("\udcff" in str(v) for v in data.values())  # JSON can hold it
    plain = register("DOC-1", "/srv/caf\u00e9.pdf").to_dict()
    assert "path_bytes" not in plain and plain["path"] == "/srv/caf\u00e9.pdf"
    assert "paths_bytes" not in destroy("DOC-1", paths=["/srv/x"]).to_dict()
    assert destroy("DOC-1", paths=["/a", RAW]).to_dict()["paths_bytes"][0] is None


@pytest.mark.parametrize(
    ("path", "edit"),
    [
        (RAW, {"path": "/srv/other.pdf"}),  # bytes that are not the name shown
        (RAW, {"path_bytes": "%%%"}),  # not base64
        ("/srv/x", {"path_bytes": "L3Nydi94"}),  # "/srv/x" is UTF-8: bytes never written
    ],
)
def test_path_bytes_are_read_strictly(path: str, edit: dict[str, str]) -> None:
    data = register("DOC-1", path).to_dict()
    data.update(edit)
    with pytest.raises(IntegrityError):
        event_from_dict(data)
