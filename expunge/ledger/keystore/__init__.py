"""The key store of sealed documents: wrapped document keys, and proof that one is gone.

Each sealed document has one key, kept wrapped under the station's key-encryption key
(wrapping is the caller's business: the store keeps opaque bytes) in one fixed slot of a
preallocated file that is only ever overwritten in place (``slots``); an SQLite index
without key material says which slot is whose (``index``); ``store`` ties them together
with one writer at a time and crash-safe steps; ``scan`` is the key-scan that proves a
destroyed key's bytes are in no file of the store. ``legacy`` reads the SQLite store of
earlier versions, to migrate it.
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.ledger.keystore.legacy import LegacyKey, SQLiteKeyStore, legacy_files
    from expunge.ledger.keystore.model import (
        CacheBypass,
        DestroyedKey,
        KeyOrigin,
        Release,
        Residue,
        SlotCheck,
        StoredKey,
        Tombstone,
    )
    from expunge.ledger.keystore.scan import scan_file, scan_files
    from expunge.ledger.keystore.slots import SLOT_SIZE, overwrite_checked, read_back, write_durably
    from expunge.ledger.keystore.store import KeyStore

__all__ = [
    "SLOT_SIZE",
    "CacheBypass",
    "DestroyedKey",
    "KeyOrigin",
    "KeyStore",
    "LegacyKey",
    "Release",
    "Residue",
    "SQLiteKeyStore",
    "SlotCheck",
    "StoredKey",
    "Tombstone",
    "legacy_files",
    "overwrite_checked",
    "read_back",
    "scan_file",
    "scan_files",
    "write_durably",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
