"""The register of certificates: an SQLite index of a certificates folder, for searching.

The signed ``.cert.json`` files stay the truth; the index (``index.sqlite`` in the same
folder) is a cache of what they claim, so that ``cert list`` and ``report`` need not read
every file to find the few asked for. It is brought up to date from the files whenever it
is opened: a file that is new or changed (name, size, modification time) is read; a row
whose file is gone is dropped; a missing or damaged index is rebuilt. A folder that cannot
be written (an auditor's read-only copy) is indexed in memory.

The index holds no verdict: the rows a query selects are read again and their signatures
verified under the caller's trust store (``RegisterRow.signature``), so what the register
lists is checked when it is listed, whoever wrote the index.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from expunge.certificates.register_row import RegisterRow, row_of, row_of_certificate

if TYPE_CHECKING:
    from expunge.certificates.model import Certificate
    from expunge.certificates.register_query import Query
    from expunge.certificates.trust import TrustStore

INDEX_NAME = "index.sqlite"
CERT_SUFFIX = ".cert.json"
_SCHEMA = 1
_COLUMNS = (
    "name",
    "size",
    "mtime_ns",
    "certificate_id",
    "issued_at",
    "finished_at",
    "finished_epoch",
    "target",
    "outcome",
    "method",
    "verification",
    "operator",
    "subjects",
    "bytes",
    "problem",
)
_CREATE = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows ({", ".join(_COLUMNS)}, PRIMARY KEY (name));
CREATE TABLE IF NOT EXISTS serials (name TEXT NOT NULL, serial TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (name TEXT NOT NULL, doc_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS rows_finished ON rows (finished_epoch);
CREATE INDEX IF NOT EXISTS serials_serial ON serials (serial);
CREATE INDEX IF NOT EXISTS documents_doc ON documents (doc_id);
"""


def _connect(folder: Path) -> sqlite3.Connection:
    """The folder's index, created if absent; in memory when the folder is read-only."""
    path = folder / INDEX_NAME
    if folder.is_dir() and os.access(folder, os.W_OK):
        try:
            db = sqlite3.connect(path, timeout=30, isolation_level=None)
            db.executescript(_CREATE)
            if db.execute("PRAGMA quick_check").fetchone() == ("ok",):
                return db
            db.close()
        except sqlite3.DatabaseError:
            pass
        # Damaged: the files are the truth, so the cache is thrown away and rebuilt.
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
    else:
        db = sqlite3.connect(":memory:", isolation_level=None)
    db.executescript(_CREATE)
    return db


def _insert(db: sqlite3.Connection, row: RegisterRow, size: int, mtime_ns: int) -> None:
    db.execute("DELETE FROM rows WHERE name = ?", (row.name,))
    db.execute("DELETE FROM serials WHERE name = ?", (row.name,))
    db.execute("DELETE FROM documents WHERE name = ?", (row.name,))
    values = (row.name, size, mtime_ns, *row.columns())
    db.execute(f"INSERT INTO rows VALUES ({', '.join('?' * len(_COLUMNS))})", values)
    db.executemany("INSERT INTO serials VALUES (?, ?)", [(row.name, s) for s in row.serials])
    db.executemany("INSERT INTO documents VALUES (?, ?)", [(row.name, d) for d in row.documents])


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Certificate files in the folder: name -> (size, mtime_ns)."""
    found: dict[str, tuple[int, int]] = {}
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return found
    for entry in entries:
        if entry.name.endswith(CERT_SUFFIX) and entry.is_file(follow_symlinks=False):
            st = entry.stat(follow_symlinks=False)
            found[entry.name] = (st.st_size, st.st_mtime_ns)
    return found


def _read(path: Path) -> tuple[bytes | str, int, int]:
    """The file's bytes with its size and mtime, or why it cannot be read."""
    try:
        with path.open("rb") as handle:
            st = os.fstat(handle.fileno())
            return handle.read(), st.st_size, st.st_mtime_ns
    except OSError as exc:
        return f"cannot read: {exc.strerror}", 0, 0


def _current_schema(db: sqlite3.Connection) -> None:
    """Empty an index written in another layout (it is rebuilt from the files)."""
    known = dict(db.execute("SELECT key, value FROM meta").fetchall())
    if known.get("schema") != str(_SCHEMA):
        for table in ("rows", "serials", "documents"):
            db.execute(f"DELETE FROM {table}")
        db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(_SCHEMA),))


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction (writers wait for each other), in the current layout."""
    db.execute("BEGIN IMMEDIATE")
    try:
        _current_schema(db)
        yield
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _refresh(db: sqlite3.Connection, folder: Path) -> None:
    """Bring the index up to date with the folder's files (one transaction)."""
    with _transaction(db):
        indexed = {n: (s, m) for n, s, m in db.execute("SELECT name, size, mtime_ns FROM rows")}
        files = _files(folder)
        for name in indexed.keys() - files.keys():
            for table in ("rows", "serials", "documents"):
                db.execute(f"DELETE FROM {table} WHERE name = ?", (name,))
        for name, stamp in sorted(files.items()):
            if indexed.get(name) != stamp:
                data, size, mtime_ns = _read(folder / name)
                _insert(db, row_of(name, data), size, mtime_ns)


@contextlib.contextmanager
def _opened(folder: Path) -> Iterator[sqlite3.Connection]:
    db = _connect(folder)
    try:
        _refresh(db, folder)
        yield db
    finally:
        db.close()


def list_certificates(folder: Path, trust: TrustStore, query: Query) -> tuple[RegisterRow, ...]:
    """The certificates of ``folder`` that ``query`` selects, oldest first (by the time
    each destruction finished), from the index brought up to date first; each selected
    file is read again and verified under ``trust``."""
    conditions = (
        (query.since, "finished_epoch >= ?"),
        (query.until, "finished_epoch <= ?"),
        (query.outcome, "outcome = ?"),
        (query.target, "target GLOB ?"),
        (query.serial, "name IN (SELECT name FROM serials WHERE serial = ?)"),
        (query.doc, "name IN (SELECT name FROM documents WHERE doc_id = ?)"),
    )
    where = ["1", *(clause for value, clause in conditions if value is not None)]
    args = [value for value, _ in conditions if value is not None]
    with _opened(folder) as db:
        found = db.execute(
            f"SELECT name, {', '.join(_COLUMNS[3:])} FROM rows WHERE {' AND '.join(where)}"
            " ORDER BY finished_epoch, certificate_id, name",
            args,
        ).fetchall()
        serials = _multi(db, "serials", "serial")
        documents = _multi(db, "documents", "doc_id")
    rows = [
        RegisterRow.from_columns(r, serials.get(r[0], ()), documents.get(r[0], ())) for r in found
    ]
    return tuple(row.checked(_verdict(folder / row.name, trust)) for row in rows)


def _verdict(path: Path, trust: TrustStore) -> str:
    """``verified`` (a trusted key's signature holds), else why not (``unknown-key``...)."""
    # Imported here: every certificate issued is indexed through this module, and issuing
    # one must not load the verification and countersignature code.
    from expunge.certificates.check import verify_certificate

    data, _, _ = _read(path)
    if isinstance(data, str):
        return "unreadable"
    check = verify_certificate(data, trust)
    return "verified" if check.certificate is not None else check.reasons[0].reason.value


def _multi(db: sqlite3.Connection, table: str, column: str) -> dict[str, tuple[str, ...]]:
    values: dict[str, list[str]] = {}
    for name, value in db.execute(f"SELECT name, {column} FROM {table} ORDER BY rowid"):
        values.setdefault(name, []).append(value)
    return {name: tuple(found) for name, found in values.items()}


def index_written(path: Path, certificate: Certificate) -> None:
    """Add ``certificate``, just written at ``path``, to its folder's index (the station
    does so under its chain lock), from the model in hand: neither it nor the folder's
    other files are read again. A failure here never undoes the certificate: the next
    reader adds what is missing (and reads again a file whose size or time changed)."""
    with contextlib.suppress(sqlite3.Error, OSError):
        st = os.stat(path)
        db = _connect(path.parent)
        try:
            with _transaction(db):
                row = row_of_certificate(path.name, certificate)
                _insert(db, row, st.st_size, st.st_mtime_ns)
        finally:
            db.close()
