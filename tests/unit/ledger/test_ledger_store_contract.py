"""One contract, both stores: the SQLite file and the shared PostgreSQL ledger (a real
server, see tests/support/postgres.py) must behave the same for everything a command
relies on: appends, the chain, tamper detection, document state, locate, generated ids."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator

import pytest

from expunge.core.errors import ExpungeError, TargetError, UsageError
from expunge.ledger.chain import verify_chain
from expunge.ledger.events import Copy, Event, Register
from expunge.ledger.state import document_state
from expunge.ledger.store import LedgerStore, open_store
from tests.support.ledger import NOW, STATION, StationKey, destroy, register, sample_events

# A store factory: (signer or None) -> a store on the test's one ledger.
Opener = Callable[..., LedgerStore]


@pytest.fixture
def opener(ledger_location: str) -> Iterator[Opener]:
    """Opens stores on the ledger (closed at the end of the test)."""
    opened: list[LedgerStore] = []

    def open_(signer: StationKey | None = STATION) -> LedgerStore:
        opened.append(open_store(ledger_location, signer=signer))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


def _tamper(location: str, seq: int, record: str) -> None:
    """Rewrite an entry's record behind the store's back, as a database owner could."""
    if not location.startswith("postgresql://"):
        with sqlite3.connect(location) as conn:
            conn.execute("UPDATE entries SET record = ? WHERE seq = ?", (record, seq))
        return
    import psycopg

    with psycopg.connect(location, autocommit=True) as conn:
        # The trigger refuses the owner too ...
        with pytest.raises(psycopg.Error, match="append-only"):
            conn.execute("UPDATE expunge.entries SET record = %s WHERE seq = %s", (record, seq))
        # ... so a superuser has to switch triggers off for its session: the chain still
        # shows it.
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE expunge.entries SET record = %s WHERE seq = %s", (record, seq))


def test_appends_link_sign_and_read_back_byte_for_byte(opener: Opener) -> None:
    store = opener()
    events: list[Event] = [*sample_events(2), register("DOC-U", title='Zürich "q" \u2028 𝄞 \\')]
    appended = [store.append(e, actor="op", now=NOW) for e in events]
    assert [e.seq for e in appended] == list(range(1, 12))
    assert list(store.entries()) == appended
    assert [r.record for r in store.raw_entries()] == [e.record.canonical() for e in appended]
    assert list(store.entries(from_seq=10)) == appended[9:]
    assert store.head() == appended[-1].head
    assert store.document_entries("DOC-2026-000002") == tuple(appended[5:10])
    assert store.document_entries("DOC-U") == (appended[-1],)
    report = verify_chain(
        store.raw_entries(), ledger_id=store.ledger_id, entry_verifier=STATION.verify
    )
    assert report.ok and report.authenticity.authenticated == 11
    assert store.integrity_check() == ()
    assert store.station == STATION.station
    reader = opener(None)
    assert reader.ledger_id == store.ledger_id and reader.head() == store.head()
    with pytest.raises(UsageError, match="without a station key"):
        reader.append(register("DOC-9"), actor="op", now=NOW)


def test_refusals_write_nothing_and_batches_are_all_or_nothing(opener: Opener) -> None:
    store = opener()
    with pytest.raises(TargetError, match="no such document"):
        store.append(Copy("DOC-404", to_medium="S"), actor="op", now=NOW)
    assert store.head() is None
    store.append(register("DOC-1"), actor="op", now=NOW)
    head = store.head()
    with pytest.raises(UsageError, match="already registered"):
        store.append(register("DOC-1", title="another"), actor="op", now=NOW)
    with pytest.raises(ExpungeError, match="no outstanding copy on medium S2"):
        store.append_many(
            [Copy("DOC-1", to_medium="S1"), destroy("DOC-1", media=["S2"])], actor="op", now=NOW
        )
    assert store.head() == head
    store.append_many(
        [Copy("DOC-1", to_medium="S2"), destroy("DOC-1", media=["S2"])], actor="op", now=NOW
    )
    state = document_state(store.document_entries("DOC-1"), "DOC-1", NOW)
    assert state is not None and [loc.status for loc in state.locations] == [
        "outstanding",
        "destroyed",
    ]
    assert state.locations[0].host == STATION.host


def test_a_rewritten_entry_is_found_by_the_chain(opener: Opener, ledger_location: str) -> None:
    store = opener()
    for event in sample_events(2):
        store.append(event, actor="op", now=NOW)
    forged = (
        store.document_entries("DOC-2026-000001")[0]
        .record.canonical()
        .replace(b"alice", b"mallory")
    )
    _tamper(ledger_location, 1, forged.decode())
    report = verify_chain(opener(None).raw_entries(), entry_verifier=STATION.verify)
    assert 1 in report.problem_seqs
    assert {p.kind for p in report.problems} >= {"hash-mismatch"}


def test_documents_at_finds_paths_below_folders_and_media_only(opener: Opener) -> None:
    store = opener()
    store.append(register("A", path="/srv/docs/a.pdf"), actor="op", now=NOW)
    store.append(register("B", path="/srv/docs2/b.pdf"), actor="op", now=NOW)
    store.append(register("C", path="/srv/other/c.pdf"), actor="op", now=NOW)
    store.append(Copy("C", to_path="/srv/docs/sub/c-copy.pdf"), actor="op", now=NOW)
    store.append(Copy("B", to_medium="SERIAL-7"), actor="op", now=NOW)
    assert sorted(store.documents_at(["/srv/docs"], [])) == ["A", "C"]
    assert sorted(store.documents_at(["/srv/docs/"], [])) == ["A", "C"]
    assert store.documents_at(["/srv/docs/a.pdf"], []) == ("A",)
    assert store.documents_at(["/srv/doc"], []) == ()
    assert sorted(store.documents_at(["/"], [])) == ["A", "B", "C"]
    assert store.documents_at([], ["SERIAL-7"]) == ("B",)
    assert store.documents_at([], ["SERIAL-"]) == ()


def test_generated_ids_count_up_and_never_collide_between_stations(
    opener: Opener, ledger_location: str
) -> None:
    store = opener()

    def make(doc_id: str) -> Register:
        return register(doc_id)

    first = store.register_new(make, actor="op", now=NOW)
    store.append(register("DOC-2026-000500"), actor="op", now=NOW)
    assert first.event.doc_id == "DOC-2026-000001"
    assert store.register_new(make, actor="op", now=NOW).event.doc_id == "DOC-2026-000501"
    ids: list[str] = []
    lock = threading.Lock()

    def work(station: StationKey) -> None:
        # Each thread its own store, as each station has its own.
        with open_store(ledger_location, signer=station) as station_store:
            for _ in range(10):
                entry = station_store.register_new(make, actor="op", now=NOW)
                with lock:
                    ids.append(str(entry.event.doc_id))

    threads = [threading.Thread(target=work, args=(StationKey(f"host-{n}"),)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ids) == [f"DOC-2026-{n:06d}" for n in range(502, 532)]
    report = verify_chain(store.raw_entries())
    assert report.ok and report.entries == 33
