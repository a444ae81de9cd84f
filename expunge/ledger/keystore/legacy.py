"""The SQLite key store of earlier versions (``<home>/keystore.db``), read to migrate it.

Earlier versions kept wrapped keys as rows of an SQLite database and deleted them with
``secure_delete``; SQLite and the filesystem kept copies the deletion never reached (WAL
frames cut by a checkpoint, pages moved by ``VACUUM``, the rollback journal), in blocks the
filesystem had freed. Its live keys are therefore moved into the slot store once
(``workflows.cryptoerase.migrate``), and its files destroyed; this module only reads it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from expunge.ledger._sqlite import DatabaseKind, SQLiteFile, open_database
from expunge.ledger.keystore.model import Tombstone, stored_time

SIDE_FILES = ("-wal", "-journal", "-shm")
KEYSTORE_DB = DatabaseKind(
    noun="key store",
    application_id=0x45584B53,  # "EXKS"
    format="expunge-keystore",
    version=1,
    schema=(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE keys ("
        " doc_id TEXT PRIMARY KEY, key_id TEXT NOT NULL UNIQUE,"
        " wrapped BLOB NOT NULL, created TEXT NOT NULL)",
        "CREATE TABLE tombstones ("
        " doc_id TEXT PRIMARY KEY, key_id TEXT NOT NULL,"
        " destroyed TEXT NOT NULL, certificate_id TEXT)",
    ),
    restore="restore it from a backup: without it, sealed documents cannot be unsealed",
)


@dataclass(frozen=True)
class LegacyKey:
    """A live row of the old store: the wrapped key and its facts."""

    doc_id: str
    key_id: str
    wrapped: bytes
    created: datetime


def legacy_files(path: Path) -> tuple[Path, ...]:
    """The old store's database and whichever of its side files exist."""
    candidates = [path, *(Path(f"{path}{s}") for s in SIDE_FILES)]
    return tuple(p for p in candidates if p.exists())


class SQLiteKeyStore(SQLiteFile):
    """``<home>/keystore.db`` as earlier versions wrote it."""

    kind = KEYSTORE_DB

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True, timeout: float = 30.0):
        """Open the old store at ``path`` (``create``: an empty one, for tests of migration)."""
        self.path = Path(path)
        self._conn, _ = open_database(
            self.path, KEYSTORE_DB, create=create, timeout=timeout, new_meta={}
        )

    def _time(self, value: object, what: str) -> datetime:
        return stored_time(value, what, str(self.path), KEYSTORE_DB.restore)

    def live_keys(self) -> tuple[LegacyKey, ...]:
        """Every key still held, in document order."""
        with self._errors("read the old key store"):
            rows = self._conn.execute(
                "SELECT doc_id, key_id, wrapped, created FROM keys ORDER BY doc_id"
            ).fetchall()
        return tuple(
            LegacyKey(str(d), str(k), bytes(w), self._time(c, f"key of {d}")) for d, k, w, c in rows
        )

    def tombstones(self) -> tuple[Tombstone, ...]:
        """Every destroyed key's tombstone."""
        with self._errors("read the old key store"):
            rows = self._conn.execute(
                "SELECT doc_id, key_id, destroyed, certificate_id FROM tombstones ORDER BY doc_id"
            ).fetchall()
        return tuple(
            Tombstone(str(d), str(k), self._time(t, f"tombstone of {d}"), c, "sealed")
            for d, k, t, c in rows
        )
