"""``PostgresLedgerStore``: one ledger shared by a fleet of stations, in PostgreSQL.

An append is one transaction: it takes the ledger's advisory lock
(``pg_advisory_xact_lock``: a ``SELECT ... FOR UPDATE`` of the newest entry lets two racing
appenders collide), reads the head and the document's history, links and signs the entries
as the SQLite store does, and hands each to the ``append_entry`` function, which checks it
follows the head under the same lock. Entries are acknowledged after the commit. Reads of
the whole chain run in one REPEATABLE READ snapshot through a server-side cursor, so an
audit of a large ledger streams.

The schema (see ``schema``) is made by ``setup``; a store only opens a database that has
it. Generated document ids are chosen under the lock from the indexed ids of the year, so
they are unique across every station of the fleet.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Self

from expunge.core.errors import IntegrityError, LedgerInDoubt, LedgerUnreachable
from expunge.ledger.appending import (
    AppendingStore,
    below,
    link_events,
    require_signer,
)
from expunge.ledger.entries import Entry, Head, RawEntry, Record
from expunge.ledger.events import Event
from expunge.ledger.postgres.connection import connect, translating
from expunge.ledger.postgres.schema import (
    APPEND_LOCK,
    DOC_ID,
    FORMAT,
    PROTECTIONS,
    SCHEMA,
    VERSION,
)
from expunge.ledger.postgres.urls import display_url
from expunge.ledger.signing import EntrySigner

_RAW = f"SELECT seq, convert_to(record, 'UTF8'), prev_hash, hash FROM {SCHEMA}.entries"
_RESTORE = "restore the database from a backup, then audit it"
_FETCH = 5000
_cursor_names = itertools.count()


def _is_uuid(text: str) -> bool:
    # The ledger id names the station's head record file: only a UUID may.
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


class PostgresLedgerStore(AppendingStore):
    """The shared ledger at a PostgreSQL URL. Not shared between threads; open one each."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        signer: EntrySigner | None = None,
        on_commit: Callable[[Entry], None] | None = None,
    ):
        """Connect to the ledger at ``url`` (set up by ``setup``), refusing a database
        without one. ``timeout`` bounds the wait for another station's append lock;
        ``signer`` and ``on_commit`` as for the SQLite store (without a signer the store
        only reads)."""
        self._where = display_url(url)
        self._entry_signer = signer
        self._on_commit = on_commit
        self._conn = connect(url)
        try:
            with self._errors("open the ledger"):
                self._conn.execute(f"SET lock_timeout = {int(timeout * 1000)}")
                # An acknowledged entry must survive a crash of the server: never let a
                # server default of synchronous_commit=off apply to the ledger's commits.
                if self._setting("synchronous_commit") == "off":
                    self._conn.execute("SET synchronous_commit = on")
                meta = {
                    str(k): str(v)
                    for k, v in self._conn.execute(f"SELECT key, value FROM {SCHEMA}.meta")
                }
        except BaseException:
            self._conn.close()
            raise
        if meta.get("format") != FORMAT or not _is_uuid(meta.get("ledger_id", "")):
            self._conn.close()
            raise IntegrityError(
                "the database's expunge schema holds no ledger", target=self._where, remedy=_RESTORE
            )
        if meta.get("schema_version") != str(VERSION):
            self._conn.close()
            raise IntegrityError(
                f"ledger schema version {meta.get('schema_version')} is not one this expunge reads",
                target=self._where,
                remedy="upgrade expunge",
            )
        self._ledger_id = str(meta["ledger_id"])

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def _errors(self, doing: str) -> AbstractContextManager[None]:
        return translating(self._where, doing)

    def _setting(self, name: str) -> str:
        row = self._conn.execute("SELECT current_setting(%s)", (name,)).fetchone()
        return str(row[0]) if row else ""

    @property
    def ledger_id(self) -> str:
        """The ledger's id, chosen when the schema was set up."""
        return self._ledger_id

    @property
    def location(self) -> str:
        """The database URL, without its password."""
        return self._where

    # -- reading -------------------------------------------------------------------------

    def _head(self) -> Head | None:
        row = self._conn.execute(
            f"SELECT seq, hash FROM {SCHEMA}.entries ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return None if row is None else Head(self._ledger_id, int(row[0]), bytes(row[1]))

    def head(self) -> Head | None:
        """The last entry's seq and hash; ``None`` for an empty ledger."""
        with self._errors("read the ledger"):
            return self._head()

    def _raw(self, row: Sequence[Any]) -> RawEntry:
        return RawEntry(self._ledger_id, int(row[0]), bytes(row[1]), bytes(row[2]), bytes(row[3]))

    def raw_entries(self, from_seq: int = 1) -> Iterator[RawEntry]:
        """Entries exactly as stored, in seq order, from one snapshot, streamed."""
        with self._errors("read the ledger"), self._conn.transaction():
            self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            with self._conn.cursor(name=f"expunge_entries_{next(_cursor_names)}") as cursor:
                cursor.itersize = _FETCH
                cursor.execute(f"{_RAW} WHERE seq >= %s ORDER BY seq", (from_seq,))
                for row in cursor:
                    yield self._raw(row)

    def _parse(self, raw: RawEntry) -> Entry:
        try:
            return raw.parse()
        except IntegrityError as exc:
            raise IntegrityError(exc.message, target=self._where, remedy=_RESTORE) from exc

    def entries(self, from_seq: int = 1) -> Iterator[Entry]:
        """Parsed entries in seq order; an ``IntegrityError`` naming the seq if one is bad."""
        for raw in self.raw_entries(from_seq):
            yield self._parse(raw)

    def _document_entries(self, doc_id: str) -> tuple[Entry, ...]:
        rows = self._conn.execute(f"{_RAW} WHERE {DOC_ID} = %s ORDER BY seq", (doc_id,)).fetchall()
        return tuple(self._parse(self._raw(row)) for row in rows)

    def document_entries(self, doc_id: str) -> tuple[Entry, ...]:
        """The entries of one document, in seq order (through the doc id index)."""
        with self._errors("read the ledger"):
            return self._document_entries(doc_id)

    def documents_at(self, paths: Sequence[str], media: Sequence[str]) -> tuple[str, ...]:
        """Ids of documents with an entry naming one of ``paths`` (or a path below one)
        or one of ``media``: index lookups in the ``places`` table."""
        lows = [below(p) for p in paths]
        highs = [low[:-1] + "0" for low in lows]  # '0' sorts right after '/'
        with self._errors("read the ledger"):
            rows = self._conn.execute(
                f"SELECT doc_id FROM {SCHEMA}.places WHERE place = ANY(%s)"
                f" UNION SELECT p.doc_id FROM unnest(%s::text[], %s::text[]) AS b (low, high)"
                f" JOIN {SCHEMA}.places p"
                ' ON p.place >= b.low COLLATE "C" AND p.place < b.high COLLATE "C"',
                ([*paths, *media], lows, highs),
            ).fetchall()
        return tuple(sorted(str(row[0]) for row in rows))

    def integrity_check(self) -> tuple[str, ...]:
        """Protections that are missing (the append function, the triggers), and a
        server that does not fsync; empty when all are in place."""
        problems = []
        with self._errors("check the ledger"):
            for name, query in PROTECTIONS.items():
                row = self._conn.execute(query).fetchone()
                if not row or not row[0]:
                    problems.append(f"{name} is missing or disabled")
            if self._setting("fsync") != "on":
                problems.append("the server runs with fsync off: acknowledged entries can be lost")
        return tuple(problems)

    def durability(self) -> dict[str, object]:
        """The server settings an acknowledged commit depends on."""
        with self._errors("read the ledger settings"):
            return {
                name: self._setting(name)
                for name in ("synchronous_commit", "fsync", "full_page_writes", "wal_level")
            }

    # -- appending -----------------------------------------------------------------------

    def _transaction(
        self, build: Callable[[Head | None], Sequence[Event | Record]], actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """One transaction under the append lock: ``build`` gives the events after the
        head it is handed; they are checked, linked, signed once, appended through the
        append function and committed. ``on_commit`` then hears of the last."""
        signer = require_signer(self._entry_signer, self._where)
        appended: list[Entry] = []
        try:
            with self._errors("append to the ledger"), self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK,))
                head = self._head()
                appended = link_events(
                    self._ledger_id,
                    head,
                    build(head),
                    signer=signer,
                    actor=actor,
                    now=now,
                    history=self._document_entries,
                    location=self._where,
                )
                with self._conn.cursor() as cursor:
                    cursor.executemany(
                        f"SELECT {SCHEMA}.append_entry(%s, %s, %s, %s)",
                        [
                            (e.seq, e.record.canonical().decode("utf-8"), e.prev_hash, e.hash)
                            for e in appended
                        ],
                    )
        except LedgerUnreachable as exc:
            if appended:
                # The commit may have reached the server before the connection broke.
                raise LedgerInDoubt(
                    f"the connection to the ledger broke while entries {appended[0].seq}.."
                    f"{appended[-1].seq} were committed: they may or may not be recorded",
                    target=self._where,
                    remedy="look with 'expunge ledger show DOC' once the ledger is back",
                ) from exc
            raise
        if appended and self._on_commit is not None:
            self._on_commit(appended[-1])
        return tuple(appended)

    def _taken_ids(self, low: str, high: str) -> Iterator[str]:
        rows = self._conn.execute(
            f"SELECT {DOC_ID} FROM {SCHEMA}.entries WHERE {DOC_ID} >= %s AND {DOC_ID} < %s",
            (low, high),
        ).fetchall()
        return (str(row[0]) for row in rows)
