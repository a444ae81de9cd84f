"""What the key store hands out and reports: keys (without their bytes), tombstones, proofs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from expunge.core.errors import IntegrityError
from expunge.ledger.events import format_time, parse_time

CacheBypass = Literal["O_DIRECT", "fadvise-dontneed"]
KeyOrigin = Literal["sealed", "migrated"]
"""``sealed``: stored here when the document was sealed; ``migrated``: moved here from the
SQLite key store of an earlier version (``keystore.db``), which may have left copies."""


def stored_time(value: object, what: str, target: str, remedy: str) -> datetime:
    """A time read back from a store's database; damage names the file and the remedy."""
    try:
        return parse_time(str(value), what)
    except IntegrityError as exc:
        raise IntegrityError(exc.message, target=target, remedy=remedy) from exc


@dataclass(frozen=True)
class StoredKey:
    """A document key held by the store (without its bytes).

    ``kek`` names the key-encryption key that wrapped it (an opaque tag the caller gave);
    ``slot`` is its fixed place in the slot file.
    """

    doc_id: str
    key_id: str
    created: datetime
    kek: str
    slot: int
    origin: KeyOrigin

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "doc_id": self.doc_id,
            "key_id": self.key_id,
            "created": format_time(self.created),
            "kek": self.kek,
            "slot": self.slot,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class Tombstone:
    """What remains of a destroyed key: which, when, and the certificate once recorded."""

    doc_id: str
    key_id: str
    destroyed: datetime
    certificate_id: str | None
    origin: KeyOrigin = "sealed"
    slot: int | None = None
    """The slot the key was zeroed in (``None``: destroyed in an older store)."""

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
            "origin": self.origin,
            "slot": self.slot,
        }


@dataclass(frozen=True)
class Release:
    """A key handed out to write plaintext (``unseal -o PATH``), recorded before decrypting."""

    doc_id: str
    path: str
    time: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"doc_id": self.doc_id, "path": self.path, "time": format_time(self.time)}


@dataclass(frozen=True)
class Residue:
    """Key bytes (``wrapped`` or ``raw``) found at ``offset`` of ``file``."""

    file: str
    offset: int
    needle: str = "wrapped"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"file": self.file, "offset": self.offset, "needle": self.needle}


@dataclass(frozen=True)
class SlotCheck:
    """A slot read back from the medium (not the page cache) after it was overwritten."""

    offset: int
    length: int
    matches: bool
    """The bytes read are the bytes written (all zeros, for a destroyed key)."""
    cache_bypass: CacheBypass

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "offset": self.offset,
            "length": self.length,
            "matches": self.matches,
            "cache_bypass": self.cache_bypass,
        }


@dataclass(frozen=True)
class DestroyedKey:
    """The outcome of destroying a key: the tombstone, the slot read back, the byte scan."""

    tombstone: Tombstone
    key_length: int
    slot: SlotCheck
    files_scanned: tuple[str, ...]
    bytes_scanned: int
    needles: tuple[str, ...]
    """What the scan looked for: ``wrapped`` and ``raw`` when the caller gave it; none for
    a destruction that a killed run left to be finished (the bytes were no longer known)."""
    residue: tuple[Residue, ...]

    @property
    def verified(self) -> bool:
        """The slot reads back zeroed and no file of the store holds any of the key's bytes."""
        return self.slot.matches and not self.residue

    def to_dict(self) -> dict[str, Any]:
        """JSON form, for the crypto-erase certificate's verification section."""
        return {
            **self.tombstone.to_dict(),
            "key_length": self.key_length,
            "slot": self.slot.to_dict(),
            "files_scanned": list(self.files_scanned),
            "bytes_scanned": self.bytes_scanned,
            "needles": list(self.needles),
            "residue": [r.to_dict() for r in self.residue],
            "verified": self.verified,
        }
