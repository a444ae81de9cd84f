"""The key store's index: which slot holds which document's key, tombstones, releases.

It holds no key material, so SQLite may keep as many copies of its pages as it likes (WAL,
freed pages): only slot numbers, ids, times and states are in it. Each key's row passes
through states that make a crash safe (see ``store``): ``writing`` (the slot may or may not
hold it yet), ``live``, ``destroying`` (it must never be handed out again).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, cast

from expunge.core.errors import IntegrityError
from expunge.ledger._sqlite import DatabaseKind, SQLiteFile, open_database, write_transaction
from expunge.ledger.events import format_time
from expunge.ledger.keystore.model import (
    KeyOrigin,
    Release,
    StoredKey,
    Tombstone,
    stored_time,
)

KeyState = Literal["writing", "live", "destroying"]
INDEX_DB = DatabaseKind(
    noun="key store index",
    application_id=0x45584B49,  # "EXKI"
    format="expunge-keystore-index",
    version=1,
    schema=(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE keys ("
        " doc_id TEXT PRIMARY KEY, key_id TEXT NOT NULL UNIQUE, slot INTEGER NOT NULL UNIQUE,"
        " kek TEXT NOT NULL, created TEXT NOT NULL, origin TEXT NOT NULL,"
        " state TEXT NOT NULL CHECK (state IN ('writing', 'live', 'destroying')),"
        " destroyed TEXT)",
        "CREATE TABLE tombstones ("
        " doc_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, destroyed TEXT NOT NULL,"
        " certificate_id TEXT, origin TEXT NOT NULL, slot INTEGER)",
        "CREATE TABLE releases ("
        " seq INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, path TEXT NOT NULL,"
        " time TEXT NOT NULL)",
    ),
    restore="restore the key store folder from a backup (its slots file rebuilds a lost index)",
)
_KEY_COLUMNS = "doc_id, key_id, created, kek, slot, origin, state, destroyed"


@dataclass(frozen=True)
class KeyRow:
    """One row of ``keys``: the key's facts, its state, and (while destroying) when."""

    key: StoredKey
    state: KeyState
    destroyed: datetime | None


class KeyIndex(SQLiteFile):
    """``<home>/keystore/index.db``."""

    kind = INDEX_DB

    def __init__(self, path: Path, *, store_id: str, timeout: float) -> None:
        """Open (or create) the index of the slot file whose header carries ``store_id``."""
        self.path = path
        self.created = not path.exists()
        self._conn, meta = open_database(
            path, INDEX_DB, create=True, timeout=timeout, new_meta={"store_id": store_id}
        )
        if meta.get("store_id") != store_id:
            self._conn.close()
            raise IntegrityError(
                "the key store index belongs to another slot file",
                target=str(path),
                remedy="restore the key store folder as one (index.db and slots together)",
            )

    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``)."""
        return write_transaction(self._conn)

    def errors(self, doing: str) -> AbstractContextManager[None]:
        """SQLite errors translated to expunge's, saying what was being done."""
        return self._errors(doing)

    def _row(self, row: tuple[object, ...]) -> KeyRow:
        doc_id, key_id, created, kek, slot, origin, state, destroyed = row
        where = f"key of {doc_id}"
        key = StoredKey(
            str(doc_id),
            str(key_id),
            self._time(created, where),
            str(kek),
            int(cast(int, slot)),
            cast(KeyOrigin, str(origin)),
        )
        when = self._time(destroyed, where) if destroyed is not None else None
        return KeyRow(key, cast(KeyState, str(state)), when)

    def _time(self, value: object, what: str) -> datetime:
        return stored_time(value, what, str(self.path), INDEX_DB.restore)

    def key(self, doc_id: str) -> KeyRow | None:
        """The row of ``doc_id``'s key, whatever its state."""
        row = self._conn.execute(
            f"SELECT {_KEY_COLUMNS} FROM keys WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        return None if row is None else self._row(row)

    def rows(self, state: KeyState | None = None) -> list[KeyRow]:
        """Every key row (in slot order), or those in ``state``."""
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        rows = self._conn.execute(f"SELECT {_KEY_COLUMNS} FROM keys {where} ORDER BY slot", args)
        return [self._row(r) for r in rows]

    def used_slots(self) -> list[int]:
        """Slot numbers a row refers to, ascending."""
        return [int(r[0]) for r in self._conn.execute("SELECT slot FROM keys ORDER BY slot")]

    def insert(self, key: StoredKey, state: KeyState) -> None:
        """Add a key row (inside a transaction)."""
        self._conn.execute(
            f"INSERT INTO keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
            (
                key.doc_id,
                key.key_id,
                format_time(key.created),
                key.kek,
                key.slot,
                key.origin,
                state,
            ),
        )

    def set_state(self, doc_id: str, state: KeyState, destroyed: datetime | None = None) -> None:
        """Move a key row to ``state`` (inside a transaction)."""
        self._conn.execute(
            "UPDATE keys SET state = ?, destroyed = ? WHERE doc_id = ?",
            (state, format_time(destroyed) if destroyed else None, doc_id),
        )

    def delete(self, doc_id: str) -> None:
        """Remove a key row (inside a transaction)."""
        self._conn.execute("DELETE FROM keys WHERE doc_id = ?", (doc_id,))

    def tombstone(self, doc_id: str) -> Tombstone | None:
        """What remains of ``doc_id``'s destroyed key, if it was destroyed."""
        row = self._conn.execute(
            "SELECT key_id, destroyed, certificate_id, origin, slot FROM tombstones"
            " WHERE doc_id = ?",
            (doc_id,),
        ).fetchone()
        if row is None:
            return None
        key_id, destroyed, certificate_id, origin, slot = row
        when = self._time(destroyed, f"tombstone of {doc_id}")
        origin = cast(KeyOrigin, str(origin))
        return Tombstone(doc_id, str(key_id), when, certificate_id, origin, slot)

    def bury(self, tomb: Tombstone) -> None:
        """Add a tombstone (inside a transaction)."""
        self._conn.execute(
            "INSERT INTO tombstones (doc_id, key_id, destroyed, certificate_id, origin, slot)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                tomb.doc_id,
                tomb.key_id,
                format_time(tomb.destroyed),
                tomb.certificate_id,
                tomb.origin,
                tomb.slot,
            ),
        )

    def set_certificate(self, doc_id: str, certificate_id: str) -> None:
        """Name the certificate of a tombstone (inside a transaction)."""
        self._conn.execute(
            "UPDATE tombstones SET certificate_id = ? WHERE doc_id = ?", (certificate_id, doc_id)
        )

    def add_release(self, release: Release) -> None:
        """Record a release (inside a transaction)."""
        self._conn.execute(
            "INSERT INTO releases (doc_id, path, time) VALUES (?, ?, ?)",
            (release.doc_id, release.path, format_time(release.time)),
        )

    def releases(self, doc_id: str) -> tuple[Release, ...]:
        """Every release of ``doc_id``'s key, in order."""
        rows = self._conn.execute(
            "SELECT path, time FROM releases WHERE doc_id = ? ORDER BY seq", (doc_id,)
        )
        return tuple(
            Release(doc_id, str(path), self._time(when, f"release of {doc_id}"))
            for path, when in rows
        )

    def meta(self, key: str) -> str | None:
        """A value of the ``meta`` table."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the ``meta`` table (inside a transaction)."""
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
