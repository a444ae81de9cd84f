"""The key store of sealed documents: wrapped document keys, and proof that one is gone.

Each sealed document has one key, stored here wrapped under the station's key-encryption
key (wrapping is the caller's business: this store keeps opaque bytes), never beside the
file. Destroying the key is cryptographic erase of every copy of the ciphertext, so it
must leave no trace in any file SQLite keeps:

1. the row is deleted with ``secure_delete=ON`` (SQLite overwrites the freed cell with
   zeros) and a tombstone is written, in one transaction;
2. ``PRAGMA wal_checkpoint(TRUNCATE)`` moves the zeroed page into the main file and cuts the
   WAL, which still held the page as it was before, to zero bytes;
3. the database file and its ``-wal``, ``-journal`` and ``-shm`` files are scanned for the
   wrapped key; if the main file still holds it (a page SQLite rearranged earlier), the
   database is rebuilt with ``VACUUM`` and checkpointed again, then scanned again.

What the scan finds is returned, never hidden: a key is reported destroyed only when none
of its bytes were found. Blocks a filesystem freed (the cut WAL's old extent) are beyond any
file-level check; that is why the bytes here are wrapped keys and not keys.

The tombstone keeps the document id, the key id, when it was destroyed and (once layer 2
has issued it) the certificate, so ``unseal`` can say "the key of DOC was destroyed on DATE".
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from expunge.core.errors import IntegrityError, RefusedError, TargetError, UsageError
from expunge.ledger._sqlite import (
    DatabaseKind,
    SQLiteFile,
    open_database,
    write_transaction,
)
from expunge.ledger.events import format_time, parse_time, utc_second
from expunge.ledger.ids import validate_document_id

SIDE_FILES = ("-wal", "-journal", "-shm")
MAX_WRAPPED_KEY = 1024
_SCAN_CHUNK = 1 << 20
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
class StoredKey:
    """A document key held by the store (without its bytes)."""

    doc_id: str
    key_id: str
    created: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"doc_id": self.doc_id, "key_id": self.key_id, "created": format_time(self.created)}


@dataclass(frozen=True)
class Tombstone:
    """What remains of a destroyed key: which, when, and the certificate once recorded."""

    doc_id: str
    key_id: str
    destroyed: datetime
    certificate_id: str | None

    def describe(self) -> str:
        """``the key of DOC was destroyed on DATE (certificate ID)``."""
        cert = f"certificate {self.certificate_id}" if self.certificate_id else "no certificate"
        return f"the key of {self.doc_id} was destroyed on {format_time(self.destroyed)} ({cert})"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "doc_id": self.doc_id,
            "key_id": self.key_id,
            "destroyed": format_time(self.destroyed),
            "certificate_id": self.certificate_id,
        }


@dataclass(frozen=True)
class Residue:
    """Wrapped-key bytes found at ``offset`` of ``file``."""

    file: str
    offset: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"file": self.file, "offset": self.offset}


@dataclass(frozen=True)
class DestroyedKey:
    """The outcome of destroying a key, with the scan that verifies it."""

    tombstone: Tombstone
    key_length: int
    files_scanned: tuple[str, ...]
    residue: tuple[Residue, ...]
    vacuumed: bool

    @property
    def verified(self) -> bool:
        """True when no file of the store holds the wrapped key any more."""
        return not self.residue

    def to_dict(self) -> dict[str, Any]:
        """JSON form, for the crypto-erase certificate's verification section."""
        return {
            **self.tombstone.to_dict(),
            "key_length": self.key_length,
            "files_scanned": list(self.files_scanned),
            "residue": [r.to_dict() for r in self.residue],
            "vacuumed": self.vacuumed,
            "verified": self.verified,
        }


def scan_file(path: Path, needle: bytes) -> list[int]:
    """Every offset at which ``needle`` occurs in the file (overlapping reads of 1 MiB)."""
    if not needle:
        raise ValueError("cannot scan for empty bytes")
    offsets: list[int] = []
    overlap = len(needle) - 1
    with open(path, "rb") as f:
        base, tail = 0, b""
        while chunk := f.read(_SCAN_CHUNK):
            data = tail + chunk
            start = data.find(needle)
            while start != -1:
                offsets.append(base + start)
                start = data.find(needle, start + 1)
            keep = min(overlap, len(data))
            base += len(data) - keep
            tail = data[len(data) - keep :] if keep else b""
    return offsets


class SQLiteKeyStore(SQLiteFile):
    """Wrapped document keys in ``<home>/keystore.db``, a file separate from the ledger."""

    kind = KEYSTORE_DB

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True, timeout: float = 30.0):
        """Open the key store at ``path``, creating it (mode 0600) when ``create`` allows."""
        self.path = Path(path)
        self._conn, _ = open_database(
            self.path, KEYSTORE_DB, create=create, timeout=timeout, new_meta={}
        )

    def _tombstone(self, doc_id: str) -> Tombstone | None:
        row = self._conn.execute(
            "SELECT key_id, destroyed, certificate_id FROM tombstones WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        if row is None:
            return None
        key_id, destroyed, certificate_id = row
        try:
            when = parse_time(str(destroyed), f"tombstone of {doc_id}")
        except IntegrityError as exc:
            raise IntegrityError(
                exc.message, target=str(self.path), remedy=KEYSTORE_DB.restore
            ) from exc
        return Tombstone(doc_id, str(key_id), when, certificate_id)

    def _gone(self, doc_id: str) -> TargetError:
        tomb = self._tombstone(doc_id)
        if tomb is not None:
            return TargetError(
                tomb.describe(),
                target=doc_id,
                remedy="its sealed copies can never be decrypted again",
            )
        return TargetError(
            "no key for this document in the key store",
            target=doc_id,
            remedy=f"check that {self.path} is the key store it was sealed with (--home)",
        )

    def put(self, doc_id: str, wrapped_key: bytes, *, now: datetime) -> StoredKey:
        """Store the wrapped key of ``doc_id`` under a new random key id.

        Refused when the document already has a key, or had one that was destroyed.
        """
        validate_document_id(doc_id)
        if not 0 < len(wrapped_key) <= MAX_WRAPPED_KEY:
            raise UsageError(
                f"a wrapped key must be 1 to {MAX_WRAPPED_KEY} bytes", target=doc_id, remedy=""
            )
        stored = StoredKey(doc_id, secrets.token_hex(16), utc_second(now))
        with self._errors("store the key"), write_transaction(self._conn):
            tomb = self._tombstone(doc_id)
            exists = self._conn.execute("SELECT 1 FROM keys WHERE doc_id = ?", (doc_id,))
            if tomb or exists.fetchone():
                raise RefusedError(
                    tomb.describe() if tomb else "the document already has a key",
                    target=doc_id,
                    remedy="a document is sealed once, under one key",
                )
            self._conn.execute(
                "INSERT INTO keys (doc_id, key_id, wrapped, created) VALUES (?, ?, ?, ?)",
                (doc_id, stored.key_id, bytes(wrapped_key), format_time(stored.created)),
            )
        return stored

    def info(self, doc_id: str) -> StoredKey | None:
        """The key held for ``doc_id`` (without its bytes), or ``None``."""
        with self._errors("read the key store"):
            row = self._conn.execute(
                "SELECT key_id, created FROM keys WHERE doc_id = ?", (doc_id,)
            ).fetchone()
        if row is None:
            return None
        return StoredKey(doc_id, str(row[0]), parse_time(str(row[1]), f"key of {doc_id}"))

    def get(self, doc_id: str) -> bytes:
        """The wrapped key of ``doc_id``; a ``TargetError`` saying when it was destroyed."""
        with self._errors("read the key store"):
            row = self._conn.execute(
                "SELECT wrapped FROM keys WHERE doc_id = ?", (doc_id,)
            ).fetchone()
            if row is None:
                raise self._gone(doc_id)
        return bytes(row[0])

    def tombstone(self, doc_id: str) -> Tombstone | None:
        """What remains of ``doc_id``'s destroyed key, or ``None`` if it was never destroyed."""
        with self._errors("read the key store"):
            return self._tombstone(doc_id)

    def record_certificate(self, doc_id: str, certificate_id: str) -> Tombstone:
        """Fill in the certificate of a destroyed key (issued after the destruction)."""
        with self._errors("update the key store"), write_transaction(self._conn):
            tomb = self._tombstone(doc_id)
            if tomb is None:
                raise TargetError(
                    "no destroyed key for this document", target=doc_id, remedy="destroy it first"
                )
            self._conn.execute(
                "UPDATE tombstones SET certificate_id = ? WHERE doc_id = ?",
                (certificate_id, doc_id),
            )
        return replace(tomb, certificate_id=certificate_id)

    def files(self) -> tuple[Path, ...]:
        """The store's files that exist now: the database and its side files."""
        candidates = [self.path, *(Path(f"{self.path}{s}") for s in SIDE_FILES)]
        return tuple(p for p in candidates if p.exists())

    def scan_for(self, needle: bytes) -> list[tuple[str, int]]:
        """Every ``(file, offset)`` where ``needle`` occurs in the store's files."""
        return [(str(path), offset) for path in self.files() for offset in scan_file(path, needle)]

    def _purge(self, needle: bytes) -> tuple[bool, list[tuple[str, int]]]:
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        residue = self.scan_for(needle)
        vacuumed = any(name == str(self.path) for name, _ in residue)
        if vacuumed:
            self._conn.execute("VACUUM")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            residue = self.scan_for(needle)
        return vacuumed, residue

    def purge(self, needle: bytes) -> tuple[Residue, ...]:
        """Checkpoint (and if needed vacuum) until ``needle`` is in no file; what remains.

        For finishing an erase that ``destroy`` reported unverified, once the reader that
        pinned the old pages has gone (the caller kept the wrapped key to look for).
        """
        with self._errors("purge the key store"):
            _, residue = self._purge(needle)
        return tuple(Residue(name, offset) for name, offset in residue)

    def destroy(self, doc_id: str, *, now: datetime) -> DestroyedKey:
        """Delete the wrapped key of ``doc_id`` from every file of the store, and prove it.

        Returns the tombstone and the scan; ``verified`` is false if the key's bytes were
        still found (for instance while another process held a read transaction open), in
        which case the caller must not certify the erase (see ``purge``).
        """
        destroyed = utc_second(now)
        with self._errors("destroy the key"):
            with write_transaction(self._conn):
                row = self._conn.execute(
                    "SELECT key_id, wrapped FROM keys WHERE doc_id = ?", (doc_id,)
                ).fetchone()
                if row is None:
                    raise self._gone(doc_id)
                key_id, wrapped = str(row[0]), bytes(row[1])
                self._conn.execute("DELETE FROM keys WHERE doc_id = ?", (doc_id,))
                self._conn.execute(
                    "INSERT INTO tombstones (doc_id, key_id, destroyed) VALUES (?, ?, ?)",
                    (doc_id, key_id, format_time(destroyed)),
                )
            vacuumed, residue = self._purge(wrapped)
            scanned = tuple(str(p) for p in self.files())
        return DestroyedKey(
            tombstone=Tombstone(doc_id, key_id, destroyed, None),
            key_length=len(wrapped),
            files_scanned=scanned,
            residue=tuple(Residue(name, offset) for name, offset in residue),
            vacuumed=vacuumed,
        )
