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
index on an expression of the record, which SQLite maintains itself.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, Self

from expunge.core.canonical import canonical_bytes
from expunge.core.errors import IntegrityError, UsageError
from expunge.ledger._sqlite import (
    DatabaseKind,
    SQLiteFile,
    open_database,
    write_transaction,
)
from expunge.ledger.chain import CheckpointSigner, checkpoint_message, next_entry
from expunge.ledger.entries import HASH_SIZE, Entry, Head, RawEntry, Record, StationRef
from expunge.ledger.events import Checkpoint, Copy, Destroy, Event, Register, Seal, utc_second
from expunge.ledger.ids import generated_prefix, next_document_id
from expunge.ledger.postgres.urls import is_url, require_driver
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


def event_places(event: Event) -> tuple[str, ...]:
    """The paths and media an event names: where a location opens or closes."""
    if isinstance(event, Register):
        return (event.path,)
    if isinstance(event, Copy):
        return tuple(p for p in (event.to_path, event.to_medium) if p is not None)
    if isinstance(event, Seal):
        return (event.sealed_path,)
    if isinstance(event, Destroy):
        return (*event.paths, *event.media)
    return ()


def below(path: str) -> str:
    """What every path strictly below the folder ``path`` starts with."""
    return path if path.endswith("/") else path + "/"


def is_at(place: str, paths: Sequence[str], media: Sequence[str]) -> bool:
    """Whether ``place`` is one of ``paths`` or ``media``, or below one of ``paths``."""
    return place in media or any(place == p or place.startswith(below(p)) for p in paths)


def refuse_misplaced_checkpoint(head: Head | None, event: Event, location: str) -> None:
    """A checkpoint must sign the head read under the write lock."""
    if isinstance(event, Checkpoint) and (
        head is None or (event.seq, event.head_hash) != (head.seq, head.hash.hex())
    ):
        raise UsageError(
            "a checkpoint must sign the current head of the ledger",
            target=location,
            remedy="use checkpoint() so the head is read under the write lock",
        )


def link_events(
    ledger_id: str,
    head: Head | None,
    events: Sequence[Event | Record],
    *,
    signer: EntrySigner,
    actor: str,
    now: datetime,
    history: Callable[[str], Sequence[Entry]],
    location: str,
) -> list[Entry]:
    """The entries that append ``events`` after ``head``, each checked against its
    document's ``history`` (and the events before it in the same transaction), the last
    one signed for all of them. A ``Record`` given instead of an event keeps its time,
    actor and origin (a migrated entry); the station is always the signer's. Run under the
    store's write lock."""
    appended: list[Entry] = []
    earlier: dict[str | None, list[Entry]] = {}
    for index, item in enumerate(events):
        draft = item if isinstance(item, Record) else Record(now, actor, item)
        event = draft.event
        if isinstance(event, Checkpoint):
            refuse_misplaced_checkpoint(head, event, location)
        else:
            check_event([*history(event.doc_id), *earlier.get(event.doc_id, ())], event)
        record = Record(draft.time, draft.actor, event, signer.station, origin=draft.origin)
        entry = next_entry(
            ledger_id,
            head,
            record,
            signer=signer if index == len(events) - 1 else None,
            from_seq=appended[0].seq if appended else None,
        )
        appended.append(entry)
        earlier.setdefault(event.doc_id, []).append(entry)
        head = entry.head
    return appended


def require_signer(signer: EntrySigner | None, location: str) -> EntrySigner:
    """The store's signer; a usage error for a store opened to read only."""
    if signer is None:
        raise UsageError(
            "the ledger was opened without a station key: it cannot append",
            target=location,
            remedy="open it with the station's signer (entries are signed, format v2)",
        )
    return signer


def checkpoint_event(
    ledger_id: str, head: Head | None, signer: CheckpointSigner, location: str
) -> Checkpoint:
    """The checkpoint signing ``head`` (read under the write lock)."""
    if head is None:
        raise UsageError(
            "the ledger is empty: there is nothing to checkpoint",
            target=location,
            remedy="register a document first",
        )
    keyid, signature = signer(checkpoint_message(ledger_id, head.seq, head.hash))
    return Checkpoint(head.seq, head.hash.hex(), keyid, signature.hex())


def registration(make: Callable[[str], Register], taken: Iterable[str], year: int) -> Register:
    """The event ``make`` builds for the id after the ``taken`` generated ids of ``year``."""
    doc_id = next_document_id(taken, year)
    event = make(doc_id)
    if event.doc_id != doc_id:
        raise ValueError(f"make() must register the id it is given ({doc_id})")
    return event


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

    @property
    def station(self) -> StationRef | None:
        """The station the store appends as (``None``: opened to read only)."""
        return None if self._entry_signer is None else self._entry_signer.station

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

    def documents_at(self, paths: Sequence[str], media: Sequence[str]) -> tuple[str, ...]:
        """Ids of documents with an entry naming one of ``paths`` (or a path below one)
        or one of ``media``: a scan of the entries, parsing only records that mention one."""
        needles = [canonical_bytes(p)[:-1] for p in paths] + [canonical_bytes(m) for m in media]
        found: dict[str, None] = {}
        for raw in self.raw_entries():
            if any(needle in raw.record for needle in needles):
                event = self._parse(raw).event
                if event.doc_id is not None and any(
                    is_at(place, paths, media) for place in event_places(event)
                ):
                    found.setdefault(event.doc_id)
        return tuple(found)

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
        self, events: Sequence[Event | Record], *, actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """Append several events in one transaction, signed once: all of them or none
        (a ``Record`` keeps its time, actor and origin: see ``link_events``)."""
        return self._transaction(lambda head: events, actor, now)

    def register_new(self, make: Callable[[str], Register], *, actor: str, now: datetime) -> Entry:
        """Register a document under the next ``DOC-<year>-<n>`` id of ``now``'s year.

        The id is chosen under the write lock, so concurrent registrations never collide.
        """
        year = utc_second(now).year
        prefix = generated_prefix(year)

        def build(head: Head | None) -> list[Event]:
            taken = self._conn.execute(
                f"SELECT {_DOC_ID} FROM entries WHERE {_DOC_ID} >= ? AND {_DOC_ID} < ?",
                (prefix, prefix[:-1] + "."),  # '.' sorts right after '-'
            ).fetchall()
            return [registration(make, (str(row[0]) for row in taken), year)]

        return self._transaction(build, actor, now)[0]

    def checkpoint(self, signer: CheckpointSigner, *, actor: str, now: datetime) -> Entry:
        """Append a checkpoint: ``signer`` signs ``(ledger id, head seq, head hash)``."""

        def build(head: Head | None) -> list[Event]:
            return [checkpoint_event(self._ledger_id, head, signer, str(self.path))]

        return self._transaction(build, actor, now)[0]


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
