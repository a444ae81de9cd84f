"""Opening expunge's SQLite files safely, shared by the ledger and the key store.

Each file type is marked by an ``application_id`` in the SQLite header and a ``meta`` table
(format name, schema version), so a corrupt file, a file of another kind or another
application's database is refused with one ``IntegrityError`` line naming the file, before
anything is written to it. Connections run with WAL, ``synchronous=FULL`` (a commit is on
disk before it returns), ``secure_delete=ON`` (deleted content is overwritten with zeros)
and temporary tables in memory (so ``VACUUM`` leaves no copy in a temporary file).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from expunge.core.errors import BusyError, IntegrityError, TargetError

_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class DatabaseKind:
    """What one kind of expunge database looks like."""

    noun: str
    application_id: int
    format: str
    version: int
    schema: tuple[str, ...]
    restore: str
    older: tuple[int, ...] = ()
    """Earlier schema versions still opened (the store upgrades them as it writes)."""


@contextmanager
def translating_errors(path: Path, kind: DatabaseKind, doing: str) -> Iterator[None]:
    """Turn SQLite's exceptions into expunge's: busy, target (I/O, permission), integrity."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise BusyError(
                f"cannot {doing}: another process holds the {kind.noun} ({text})",
                target=str(path),
                remedy="try again when it has finished",
            ) from exc
        raise TargetError(
            f"cannot {doing}: {text}",
            target=str(path),
            remedy="check free space and permissions of the home folder",
        ) from exc
    except sqlite3.DatabaseError as exc:
        raise IntegrityError(
            f"the {kind.noun} database is damaged ({exc})", target=str(path), remedy=kind.restore
        ) from exc


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: the write lock is taken before anything is read,
    so what the transaction reads cannot be stale when it writes. Rolled back on any
    exception; the commit has returned (and is on disk) when the block is left."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _check_magic(path: Path, kind: DatabaseKind) -> None:
    try:
        with open(path, "rb") as f:
            start = f.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise TargetError(
            f"cannot read the {kind.noun}: {exc.strerror}",
            target=str(path),
            remedy="check permissions",
        ) from exc
    if start and start != _SQLITE_MAGIC:
        raise IntegrityError(
            f"not an expunge {kind.noun}: not an SQLite database (corrupt, or another kind of "
            "file)",
            target=str(path),
            remedy=kind.restore,
        )


def _create_file(path: Path, kind: DatabaseKind) -> None:
    try:
        # 0600 from the start: SQLite gives its -wal and -shm files the same mode.
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # another process created it first; both then open the same database
    except OSError as exc:
        raise TargetError(
            f"cannot create the {kind.noun}: {exc.strerror}",
            target=str(path),
            remedy="check that the folder exists and is writable (--home)",
        ) from exc


def _is_empty(conn: sqlite3.Connection) -> bool:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    return bool(app_id == 0 and tables == 0)


def _initialize(conn: sqlite3.Connection, kind: DatabaseKind, meta: Mapping[str, str]) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    with write_transaction(conn):
        # Re-checked under the write lock: another process may have just created it.
        if not _is_empty(conn):
            return
        conn.execute(f"PRAGMA application_id={kind.application_id}")
        for statement in kind.schema:
            conn.execute(statement)
        rows = {"format": kind.format, "schema_version": str(kind.version), **meta}
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows.items())


def _read_meta(conn: sqlite3.Connection, path: Path, kind: DatabaseKind) -> dict[str, str]:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    try:
        meta = {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM meta")}
    except sqlite3.OperationalError:
        meta = {}
    if app_id != kind.application_id or meta.get("format") != kind.format:
        raise IntegrityError(
            f"not an expunge {kind.noun} (another kind of SQLite database)",
            target=str(path),
            remedy="point --home at expunge's folder, or move this file away",
        )
    version = meta.get("schema_version", "")
    if version not in {str(v) for v in (kind.version, *kind.older)}:
        newer = version.isdigit() and int(version) > kind.version
        raise IntegrityError(
            f"{kind.noun} schema version {version or 'missing'} is "
            + ("newer than this expunge understands" if newer else "not supported"),
            target=str(path),
            remedy="upgrade expunge" if newer else kind.restore,
        )
    return meta


def open_database(
    path: Path,
    kind: DatabaseKind,
    *,
    create: bool,
    timeout: float,
    new_meta: Mapping[str, str],
) -> tuple[sqlite3.Connection, dict[str, str]]:
    """Open (or create, with ``new_meta`` in its meta table) a database of ``kind``.

    Returns the connection, in autocommit mode with the settings above, and the meta table.
    """
    if not path.exists():
        if not create:
            raise TargetError(f"no {kind.noun} here", target=str(path), remedy="check --home")
        _create_file(path, kind)
    _check_magic(path, kind)
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise TargetError(
            f"cannot open the {kind.noun}: {exc}", target=str(path), remedy="check permissions"
        ) from exc
    try:
        with translating_errors(path, kind, f"open the {kind.noun}"):
            if _is_empty(conn):
                _initialize(conn, kind, new_meta)
            meta = _read_meta(conn, path, kind)
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise TargetError(
                    f"cannot switch the {kind.noun} to WAL mode (got {mode})",
                    target=str(path),
                    remedy="put the home folder on a local filesystem",
                )
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA temp_store=MEMORY")
    except BaseException:
        conn.close()
        raise
    return conn, meta


def durability(conn: sqlite3.Connection) -> dict[str, object]:
    """The settings a connection runs with: journal mode, synchronous, secure_delete."""
    levels = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return {
        "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
        "synchronous": levels[conn.execute("PRAGMA synchronous").fetchone()[0]],
        "secure_delete": bool(conn.execute("PRAGMA secure_delete").fetchone()[0]),
    }


def integrity_check(conn: sqlite3.Connection) -> tuple[str, ...]:
    """SQLite's ``PRAGMA integrity_check``: empty when the file is sound."""
    rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    return () if rows == ["ok"] else tuple(rows)


class SQLiteFile:
    """One open expunge database file: its path, its connection, its errors translated."""

    kind: DatabaseKind
    path: Path
    _conn: sqlite3.Connection

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def _errors(self, doing: str) -> AbstractContextManager[None]:
        return translating_errors(self.path, self.kind, doing)

    def integrity_check(self) -> tuple[str, ...]:
        """SQLite's own ``PRAGMA integrity_check``: empty when the file is sound."""
        with self._errors(f"check the {self.kind.noun}"):
            return integrity_check(self._conn)

    def durability(self) -> dict[str, object]:
        """The settings this connection runs with (journal mode, synchronous, secure_delete)."""
        with self._errors(f"read the {self.kind.noun} settings"):
            return durability(self._conn)
