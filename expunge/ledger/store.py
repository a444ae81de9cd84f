"""Where entries live: the ``LedgerStore`` interface and its SQLite implementation.

Every append runs inside one write transaction that reads the current head, checks each
event against its document's history, links the entries (v2 records naming the station),
signs the last one for all of them with the station's signer (see ``signing``) and
commits; the entries are returned (acknowledged) only after the commit, and the store's
``on_commit`` hook hears of the new head then. A store opened without a signer only
reads. Two processes appending at once are serialized by the database, so the chain never
forks. The checking, linking and signing under the lock is shared (``link_events``); the
shared PostgreSQL store (``ledger.postgres``) implements the same interface, and
``open_store`` chooses between them by location (a URL or a path).

The SQLite file (``<home>/ledger.db``) uses WAL with ``synchronous=FULL`` (a commit is on
disk before it returns) and ``secure_delete=ON``. Its schema is deliberately minimal: the
``entries`` table holds only the seq, the record bytes exactly as hashed, and the two
hashes, so there is no column that the chain does not cover. Lookups by document id use an
index on an expression of the record, which SQLite maintains itself.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, Self

from expunge.core.errors import IntegrityError
from expunge.ledger import place_index
from expunge.ledger._sqlite import (
    DatabaseKind,
    SQLiteFile,
    open_database,
    write_transaction,
)
from expunge.ledger.appending import (
    AppendingStore,
    link_events,
    require_signer,
)
from expunge.ledger.chain import CheckpointSigner
from expunge.ledger.entries import HASH_SIZE, Entry, Head, RawEntry, Record, StationRef
from expunge.ledger.events import Event, Register
from expunge.ledger.postgres.urls import is_url, require_driver
from expunge.ledger.signing import EntrySigner

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

    @property
    def station(self) -> StationRef | None:
        """The station the store appends as (``None``: opened to read only)."""

    def head(self) -> Head | None:
        """The last entry's seq and hash; ``None`` for an empty ledger."""

    def append(self, event: Event, *, actor: str, now: datetime) -> Entry:
        """Check ``event`` against the history, link it to the head and commit it."""

    def append_many(
        self, events: Sequence[Event | Record], *, actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """Append several events in one transaction: all of them or none. A ``Record``
        keeps its own time, actor and origin (entries migrated from another ledger)."""

    def append_built(
        self, build: Callable[[Head | None], Sequence[Event | Record]], *, actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """Append the events ``build`` gives for the head read under the write lock, in
        one transaction (``build`` may read the store there)."""

    def register_many(
        self, makes: Sequence[Callable[[str], Register]], *, actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """Register one document per ``make`` in one transaction, under consecutive ids."""

    def register_new(self, make: Callable[[str], Register], *, actor: str, now: datetime) -> Entry:
        """Register a document under the next generated id (``make`` builds the event)."""

    def checkpoint(self, signer: CheckpointSigner, *, actor: str, now: datetime) -> Entry:
        """Append a checkpoint signing the current head."""

    def raw_entries(self, from_seq: int = 1) -> Iterator[RawEntry]:
        """Entries as stored (for verification), in seq order."""

    def entries(self, from_seq: int = 1) -> Iterator[Entry]:
        """Parsed entries in seq order; an ``IntegrityError`` naming the seq if one is bad."""

    def document_entries(self, doc_id: str) -> tuple[Entry, ...]:
        """The entries of one document, in seq order."""

    def documents_at(self, paths: Sequence[str], media: Sequence[str]) -> tuple[str, ...]:
        """Ids of documents with an entry naming one of ``paths`` or a path below one of
        them, or one of ``media``: the candidates whose state a destruction must read."""

    def integrity_check(self) -> tuple[str, ...]:
        """What the storage itself finds wrong (damage, missing protections); empty when
        sound."""

    def durability(self) -> dict[str, object]:
        """The settings that decide whether an acknowledged append survives a crash."""

    def close(self) -> None:
        """Release the store."""

    def __enter__(self) -> Self:
        """The store itself, closed when the block is left."""

    def __exit__(self, *exc: object) -> None:
        """Close the store."""


def _as_bytes(value: object) -> bytes:
    # Columns are read CAST to BLOB, so a hand-edited value of any type arrives as bytes;
    # only NULL (in a table rebuilt without its constraints) does not.
    return value if isinstance(value, bytes) else b""


class SQLiteLedgerStore(SQLiteFile, AppendingStore):
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
            new_meta={"ledger_id": str(uuid.uuid4())},
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

    def documents_at(self, paths: Sequence[str], media: Sequence[str]) -> tuple[str, ...]:
        """Ids of documents with a location recorded at one of ``paths`` (or below one) or
        on one of ``media``, from the places index (caught up first if it is behind)."""
        with self._errors("read the ledger"):
            self._fresh_index()
            found = set(place_index.documents_at(self._conn, paths)) if paths else set()
            for medium in media:
                found |= place_index.documents_on(self._conn, medium)
            return tuple(sorted(found))

    # -- appending -----------------------------------------------------------------------

    def _transaction(
        self, build: Callable[[Head | None], Sequence[Event | Record]], actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """One write transaction: ``build`` gives the events to append after the head it
        is handed (read under the lock); they are checked, linked, signed once and
        committed together. ``on_commit`` then hears of the last."""
        signer = require_signer(self._entry_signer, str(self.path))
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
            appended = link_events(
                self._ledger_id,
                head,
                build(head),
                signer=signer,
                actor=actor,
                now=now,
                history=self._document_entries,
                location=str(self.path),
            )
            self._conn.executemany(
                "INSERT INTO entries (seq, record, prev_hash, hash) VALUES (?, ?, ?, ?)",
                [
                    (e.seq, e.record.canonical().decode("utf-8"), e.prev_hash, e.hash)
                    for e in appended
                ],
            )
            place_index.add(self._conn, appended)
            place_index.mark(self._conn, appended[-1].seq if appended else head.seq if head else 0)
        self._schema_version = str(LEDGER_DB.version)
        if appended and self._on_commit is not None:
            self._on_commit(appended[-1])
        return tuple(appended)

    def _taken_ids(self, low: str, high: str) -> Iterator[str]:
        rows = self._conn.execute(
            f"SELECT {_DOC_ID} FROM entries WHERE {_DOC_ID} >= ? AND {_DOC_ID} < ?", (low, high)
        )
        return (str(row[0]) for row in rows)


def open_store(
    location: str | os.PathLike[str],
    *,
    create: bool = True,
    signer: EntrySigner | None = None,
    on_commit: Callable[[Entry], None] | None = None,
) -> LedgerStore:
    """The ledger at ``location``: a PostgreSQL URL (``postgresql://...``: the shared
    ledger, which ``create`` does not make; see ``ledger setup-postgres``) or the path of
    an SQLite file (created when ``create`` allows). ``signer`` and ``on_commit`` as for
    ``SQLiteLedgerStore``."""
    if isinstance(location, str) and is_url(location):
        require_driver(location)
        from expunge.ledger.postgres.store import PostgresLedgerStore

        return PostgresLedgerStore(location, signer=signer, on_commit=on_commit)
    return SQLiteLedgerStore(location, create=create, signer=signer, on_commit=on_commit)
