"""Where entries live: the ``LedgerStore`` interface and its SQLite implementation.

Every append runs inside one write transaction that reads the current head, checks each
event against its document's history, links the entries (v2 records naming the station),
signs the last one for all of them with the station's signer (see ``signing``) and
commits; the entries are returned (acknowledged) only after the commit, and the store's
``on_commit`` hook hears of the new head then. A store opened without a signer only
reads. Two processes appending at once are serialized by the database, so the chain never
forks. The interface is small so that a shared PostgreSQL
store (``SELECT ... FOR UPDATE`` on the head) can serve a fleet of stations later.

The SQLite file (``<home>/ledger.db``) uses WAL with ``synchronous=FULL`` (a commit is on
disk before it returns) and ``secure_delete=ON``. Its schema is deliberately minimal: the
``entries`` table holds only the seq, the record bytes exactly as hashed, and the two
hashes, so there is no column that the chain does not cover. Lookups by document id use an
index on an expression of the record, which SQLite maintains itself; lookups by path or
medium use the ``places`` table (see ``place_index``), derived from the entries, written in
the same transactions and rebuilt from them whenever it is missing or behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from expunge.core.errors import IntegrityError, UsageError
from expunge.ledger import place_index
from expunge.ledger._sqlite import (
    DatabaseKind,
    SQLiteFile,
    open_database,
    write_transaction,
)
from expunge.ledger.chain import CheckpointSigner, checkpoint_message, linked_entry
from expunge.ledger.entries import HASH_SIZE, Entry, Head, RawEntry, Record
from expunge.ledger.events import Checkpoint, Event, Register, utc_second
from expunge.ledger.ids import generated_id, generated_prefix, next_document_id
from expunge.ledger.signing import EntrySigner
from expunge.ledger.state import check_event

_DOC_ID = "json_extract(record, '$.event.doc_id')"
_RAW_COLUMNS = (
    "CAST(seq AS INTEGER), CAST(record AS BLOB), CAST(prev_hash AS BLOB), CAST(hash AS BLOB)"
)
_RESTORE = "restore it from a backup; 'expunge ledger export' output can be audited offline"
LEDGER_DB = DatabaseKind(
    noun="ledger",
    application_id=0x45584C47,  # "EXLG"
    format="expunge-ledger",
    # 2: records may be v2 (signed, naming their station). A version 1 ledger is read as it
    # is and becomes version 2 with its first v2 entry.
    version=2,
    older=(1,),
    schema=(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE entries ("
        " seq INTEGER PRIMARY KEY, record TEXT NOT NULL,"
        " prev_hash BLOB NOT NULL, hash BLOB NOT NULL)",
        f"CREATE INDEX entries_doc_id ON entries ({_DOC_ID})",
        *place_index.SCHEMA,
    ),
    restore=_RESTORE,
)


class LedgerStore(Protocol):
    """Storage for one ledger's entries. Appends are atomic and acknowledged after commit."""

    @property
    def ledger_id(self) -> str:
        """The ledger's id, chosen at random when the store was created."""

    @property
    def location(self) -> str:
        """Where the store is (a path or URL), for messages."""

    def head(self) -> Head | None:
        """The last entry's seq and hash; ``None`` for an empty ledger."""

    def append(self, event: Event, *, actor: str, now: datetime) -> Entry:
        """Check ``event`` against the history, link it to the head and commit it."""

    def append_many(
        self, events: Sequence[Event], *, actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """Append several events in one transaction: all of them or none."""

    def register_new(self, make: Callable[[str], Register], *, actor: str, now: datetime) -> Entry:
        """Register a document under the next generated id (``make`` builds the event)."""

    def register_many(
        self, makes: Sequence[Callable[[str], Register]], *, actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """Register several documents in one transaction, under consecutive generated ids
        (each ``make`` builds its event from the id it is given): all of them or none."""

    def checkpoint(self, signer: CheckpointSigner, *, actor: str, now: datetime) -> Entry:
        """Append a checkpoint signing the current head."""

    def raw_entries(self, from_seq: int = 1) -> Iterator[RawEntry]:
        """Entries as stored (for verification), in seq order."""

    def entries(self, from_seq: int = 1) -> Iterator[Entry]:
        """Parsed entries in seq order; an ``IntegrityError`` naming the seq if one is bad."""

    def document_entries(self, doc_id: str) -> tuple[Entry, ...]:
        """The entries of one document, in seq order."""

    def documents_at(self, paths: Sequence[str]) -> frozenset[str]:
        """Ids of the documents with a location ever recorded at one of ``paths`` or below
        it (a folder): candidates, whose state then says what is outstanding. A store
        without an index can answer with ``place_index.scan(self.entries(), paths, None)``."""

    def documents_on(self, medium: str) -> frozenset[str]:
        """Ids of the documents with a copy ever recorded on ``medium`` (its token)."""

    def close(self) -> None:
        """Release the store."""


def _as_bytes(value: object) -> bytes:
    # Columns are read CAST to BLOB, so a hand-edited value of any type arrives as bytes;
    # only NULL (in a table rebuilt without its constraints) does not.
    return value if isinstance(value, bytes) else b""


class SQLiteLedgerStore(SQLiteFile):
    """The embedded ledger: one SQLite file. Not shared between threads; open one each."""

    kind = LEDGER_DB

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        timeout: float = 30.0,
        signer: EntrySigner | None = None,
        on_commit: Callable[[Entry], None] | None = None,
    ):
        """Open the ledger at ``path``, creating it (mode 0600) when ``create`` allows.

        ``timeout`` is how long to wait for another process's write lock. A file that is
        corrupt, not SQLite, or another kind of database is refused with one
        ``IntegrityError`` naming the file. Appending needs ``signer``, the station that
        signs and is named in every entry; ``on_commit`` is called with the last entry of
        each committed transaction (the station records its head). Without a signer the
        store only reads.
        """
        self.path = Path(path)
        self._entry_signer = signer
        self._on_commit = on_commit
        self._conn, meta = open_database(
            self.path,
            LEDGER_DB,
            create=create,
            timeout=timeout,
            new_meta={"ledger_id": str(uuid.uuid4()), "places_seq": "0"},
        )
        if not meta.get("ledger_id"):
            self._conn.close()
            raise IntegrityError("the ledger has no id", target=str(self.path), remedy=_RESTORE)
        self._ledger_id = meta["ledger_id"]
        self._schema_version = meta["schema_version"]

    @property
    def ledger_id(self) -> str:
        """The ledger's id, chosen at random when the database was created."""
        return self._ledger_id

    @property
    def location(self) -> str:
        """The database file."""
        return str(self.path)

    def _write(self) -> AbstractContextManager[None]:
        return write_transaction(self._conn)

    # -- reading -------------------------------------------------------------------------

    def _head(self) -> Head | None:
        row = self._conn.execute(
            "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        seq, digest = row
        if not isinstance(digest, bytes) or len(digest) != HASH_SIZE:
            raise IntegrityError(
                f"ledger entry {seq} has no valid hash", target=str(self.path), remedy=_RESTORE
            )
        return Head(self._ledger_id, int(seq), digest)

    def head(self) -> Head | None:
        """The last entry's seq and hash; ``None`` for an empty ledger."""
        with self._errors("read the ledger"):
            return self._head()

    def raw_entries(self, from_seq: int = 1) -> Iterator[RawEntry]:
        """Entries exactly as stored, in seq order, from one consistent snapshot."""
        with self._errors("read the ledger"):
            rows = self._conn.execute(
                f"SELECT {_RAW_COLUMNS} FROM entries WHERE seq >= ? ORDER BY seq", (from_seq,)
            )
            for row in rows:
                yield self._raw(row)

    def _raw(self, row: tuple[Any, ...]) -> RawEntry:
        seq, record, prev_hash, digest = row
        return RawEntry(
            self._ledger_id, int(seq), _as_bytes(record), _as_bytes(prev_hash), _as_bytes(digest)
        )

    def _parse(self, raw: RawEntry) -> Entry:
        try:
            return raw.parse()
        except IntegrityError as exc:
            raise IntegrityError(exc.message, target=str(self.path), remedy=_RESTORE) from exc

    def entries(self, from_seq: int = 1) -> Iterator[Entry]:
        """Parsed entries in seq order; an ``IntegrityError`` naming the seq if one is bad."""
        for raw in self.raw_entries(from_seq):
            yield self._parse(raw)

    def _document_entries(self, doc_id: str) -> tuple[Entry, ...]:
        rows = self._conn.execute(
            f"SELECT {_RAW_COLUMNS} FROM entries WHERE {_DOC_ID} = ? ORDER BY seq", (doc_id,)
        ).fetchall()
        return tuple(self._parse(self._raw(row)) for row in rows)

    def document_entries(self, doc_id: str) -> tuple[Entry, ...]:
        """The entries of one document, in seq order (found through the doc id index)."""
        with self._errors("read the ledger"):
            return self._document_entries(doc_id)

    def _index_current(self, head: Head | None) -> bool:
        return place_index.indexed_seq(self._conn) == (head.seq if head else 0)

    def _fresh_index(self) -> None:
        """Bring the places index up to the head, under the write lock, if it is behind."""
        if self._index_current(self._head()):
            return
        with self._write():
            self._catch_up(self._head())

    def _catch_up(self, head: Head | None) -> None:
        # Inside a write transaction: index the entries the index does not cover yet.
        seq = place_index.indexed_seq(self._conn)
        last = head.seq if head else 0
        if seq == last:
            return
        if seq is None or seq > last:  # no index, or one of entries no longer there
            place_index.reset(self._conn)
            seq = 0
        place_index.add(self._conn, self.entries(seq + 1))
        place_index.mark(self._conn, last)

    def documents_at(self, paths: Sequence[str]) -> frozenset[str]:
        """Ids of the documents with a location recorded at one of ``paths`` or below it,
        from the places index (caught up first if it is behind the entries)."""
        with self._errors("read the ledger"):
            self._fresh_index()
            return place_index.documents_at(self._conn, paths)

    def documents_on(self, medium: str) -> frozenset[str]:
        """Ids of the documents with a copy recorded on ``medium``, from the index."""
        with self._errors("read the ledger"):
            self._fresh_index()
            return place_index.documents_on(self._conn, medium)

    # -- appending -----------------------------------------------------------------------

    def _signer(self) -> EntrySigner:
        if self._entry_signer is None:
            raise UsageError(
                "the ledger was opened without a station key: it cannot append",
                target=str(self.path),
                remedy="open it with the station's signer (entries are signed, format v2)",
            )
        return self._entry_signer

    def _check(self, head: Head | None, event: Event) -> None:
        if isinstance(event, Checkpoint):
            if head is None or (event.seq, event.head_hash) != (head.seq, head.hash.hex()):
                raise UsageError(
                    "a checkpoint must sign the current head of the ledger",
                    target=str(self.path),
                    remedy="use checkpoint() so the head is read under the write lock",
                )
        else:
            check_event(self._document_entries(event.doc_id), event)

    def _transaction(
        self, build: Callable[[Head | None], Sequence[Event]], actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """One write transaction: ``build`` gives the events to append after the head it
        is handed (read under the lock); each is checked and linked, the last one signed
        for all of them, and the whole committed. ``on_commit`` then hears of the last."""
        signer = self._signer()
        appended: list[Entry] = []
        with self._errors("append to the ledger"), self._write():
            if self._schema_version != str(LEDGER_DB.version):
                # Written in the same transaction as the first v2 entry, so that an older
                # expunge refuses to append unsigned entries after it.
                self._conn.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                    (str(LEDGER_DB.version),),
                )
            head = self._head()
            self._catch_up(head)
            events = build(head)
            station = signer.station
            for index, event in enumerate(events):
                self._check(head, event)
                record = Record(now, actor, event, station)
                last = index == len(events) - 1
                entry, data = linked_entry(
                    self._ledger_id,
                    head,
                    record,
                    signer=signer if last else None,
                    from_seq=appended[0].seq if appended else None,
                )
                self._conn.execute(
                    "INSERT INTO entries (seq, record, prev_hash, hash) VALUES (?, ?, ?, ?)",
                    (
                        entry.seq,
                        data.decode("utf-8"),
                        entry.prev_hash,
                        entry.hash,
                    ),
                )
                appended.append(entry)
                head = entry.head
            place_index.add(self._conn, appended)
            place_index.mark(self._conn, head.seq if head else 0)
        self._schema_version = str(LEDGER_DB.version)
        if appended and self._on_commit is not None:
            self._on_commit(appended[-1])
        return tuple(appended)

    def append(self, event: Event, *, actor: str, now: datetime) -> Entry:
        """Check ``event`` against its document's history, link it to the head, sign it,
        commit.

        Returns only after the commit, so a returned entry is durable.
        """
        return self.append_many((event,), actor=actor, now=now)[0]

    def append_many(
        self, events: Sequence[Event], *, actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """Append several events in one transaction, signed once: all of them or none."""
        return self._transaction(lambda head: events, actor, now)

    def register_new(self, make: Callable[[str], Register], *, actor: str, now: datetime) -> Entry:
        """Register a document under the next ``DOC-<year>-<n>`` id of ``now``'s year.

        The id is chosen under the write lock, so concurrent registrations never collide.
        """
        return self.register_many((make,), actor=actor, now=now)[0]

    def register_many(
        self, makes: Sequence[Callable[[str], Register]], *, actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """Register one document per ``make`` in one transaction, signed once, under the
        next consecutive ``DOC-<year>-<n>`` ids of ``now``'s year (chosen under the write
        lock, so concurrent registrations never collide): all of them or none."""
        year = utc_second(now).year
        prefix = generated_prefix(year)

        def build(head: Head | None) -> list[Event]:
            taken = self._conn.execute(
                f"SELECT {_DOC_ID} FROM entries WHERE {_DOC_ID} >= ? AND {_DOC_ID} < ?",
                (prefix, prefix[:-1] + "."),  # '.' sorts right after '-'
            ).fetchall()
            first = next_document_id((str(row[0]) for row in taken), year)
            number = int(first[len(prefix) :])
            events: list[Event] = []
            for offset, make in enumerate(makes):
                doc_id = generated_id(year, number + offset)
                event = make(doc_id)
                if event.doc_id != doc_id:
                    raise ValueError(f"make() must register the id it is given ({doc_id})")
                events.append(event)
            return events

        return self._transaction(build, actor, now)

    def checkpoint(self, signer: CheckpointSigner, *, actor: str, now: datetime) -> Entry:
        """Append a checkpoint: ``signer`` signs ``(ledger id, head seq, head hash)``."""

        def build(head: Head | None) -> list[Event]:
            if head is None:
                raise UsageError(
                    "the ledger is empty: there is nothing to checkpoint",
                    target=str(self.path),
                    remedy="register a document first",
                )
            keyid, signature = signer(checkpoint_message(self._ledger_id, head.seq, head.hash))
            return [Checkpoint(head.seq, head.hash.hex(), keyid, signature.hex())]

        return self._transaction(build, actor, now)[0]
