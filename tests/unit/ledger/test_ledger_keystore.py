"""The key store: wrapped keys kept, destroyed without a trace in any file, tombstones."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from expunge.core.errors import IntegrityError, RefusedError, TargetError, UsageError
from expunge.ledger.keystore import SQLiteKeyStore, scan_file
from expunge.ledger.store import SQLiteLedgerStore
from tests.support.ledger import NOW


def _all_bytes_of_store(folder: Path) -> dict[str, bytes]:
    """Every file of the store, read independently of the store's own scanner."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name.startswith("keystore.db")}


def _occurs(folder: Path, needle: bytes) -> list[str]:
    return [name for name, data in _all_bytes_of_store(folder).items() if needle in data]


def test_keys_round_trip_in_a_private_durable_file(tmp_path: Path) -> None:
    with SQLiteKeyStore(tmp_path / "keystore.db") as store:
        wrapped = os.urandom(40)
        stored = store.put("DOC-1", wrapped, now=NOW)
        assert store.get("DOC-1") == wrapped
        assert store.info("DOC-1") == stored and len(stored.key_id) == 32
        assert store.durability() == {
            "journal_mode": "wal",
            "synchronous": "FULL",
            "secure_delete": True,
        }
        for path in store.files():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    with SQLiteKeyStore(tmp_path / "keystore.db") as again:
        assert again.get("DOC-1") == wrapped


def test_destroyed_keys_are_in_no_file_and_the_others_survive(tmp_path: Path) -> None:
    keys = {f"DOC-{n}": os.urandom(40) for n in range(30)}
    doomed = [f"DOC-{n}" for n in range(0, 30, 3)]
    with SQLiteKeyStore(tmp_path / "keystore.db") as store:
        for doc, wrapped in keys.items():
            store.put(doc, wrapped, now=NOW)
        assert _occurs(tmp_path, keys[doomed[0]])  # the check below can find keys
        for doc in doomed:
            result = store.destroy(doc, now=NOW + timedelta(hours=1))
            assert result.verified and result.residue == ()
            assert result.key_length == 40 and str(store.path) in result.files_scanned
        for doc in doomed:
            assert _occurs(tmp_path, keys[doc]) == [], doc
            assert store.scan_for(keys[doc]) == []
        for doc, wrapped in keys.items():
            if doc not in doomed:
                assert store.get(doc) == wrapped
                assert _occurs(tmp_path, wrapped)
        assert store.integrity_check() == ()
    for doc in doomed:  # also once the store is closed and SQLite has tidied up
        assert _occurs(tmp_path, keys[doc]) == []


def test_a_destroyed_key_says_when_and_by_which_certificate(keystore: SQLiteKeyStore) -> None:
    keystore.put("DOC-7", os.urandom(40), now=NOW)
    result = keystore.destroy("DOC-7", now=NOW + timedelta(days=2))
    assert result.tombstone.certificate_id is None
    with pytest.raises(TargetError) as caught:
        keystore.get("DOC-7")
    assert "the key of DOC-7 was destroyed on 2026-03-03T12:00:00Z" in caught.value.diagnostics()
    tomb = keystore.record_certificate("DOC-7", "CERT-42")
    assert keystore.tombstone("DOC-7") == tomb
    with pytest.raises(TargetError, match=r"\(certificate CERT-42\)"):
        keystore.get("DOC-7")
    with pytest.raises(TargetError, match="destroyed on"):
        keystore.destroy("DOC-7", now=NOW)
    with pytest.raises(RefusedError, match="destroyed on"):
        keystore.put("DOC-7", os.urandom(40), now=NOW)


def test_refusals(keystore: SQLiteKeyStore) -> None:
    keystore.put("DOC-1", b"k" * 40, now=NOW)
    with pytest.raises(RefusedError, match="already has a key"):
        keystore.put("DOC-1", b"j" * 40, now=NOW)
    with pytest.raises(TargetError, match="no key for this document"):
        keystore.get("DOC-2")
    with pytest.raises(TargetError, match="no destroyed key"):
        keystore.record_certificate("DOC-1", "CERT-1")
    with pytest.raises(UsageError):
        keystore.put("DOC-3", b"", now=NOW)
    with pytest.raises(UsageError):
        keystore.put("not an id", b"k" * 40, now=NOW)
    assert keystore.tombstone("DOC-1") is None and keystore.info("DOC-2") is None


def test_a_reader_pinning_the_old_page_makes_the_erase_unverified(tmp_path: Path) -> None:
    path = tmp_path / "keystore.db"
    wrapped = os.urandom(40)
    with SQLiteKeyStore(path, timeout=0.2) as store:
        store.put("DOC-1", wrapped, now=NOW)
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM keys").fetchone() == (1,)
        result = store.destroy("DOC-1", now=NOW)
        assert not result.verified and result.residue
        assert result.to_dict()["verified"] is False
        reader.execute("COMMIT")
        reader.close()
        assert store.purge(wrapped) == ()
    assert _occurs(tmp_path, wrapped) == []


def test_scan_file_finds_every_occurrence_across_chunk_borders(tmp_path: Path) -> None:
    needle = os.urandom(40)
    data = bytearray(os.urandom(3 << 20))
    offsets = [0, (1 << 20) - 20, (2 << 20) - 1, len(data) - 40]
    for offset in offsets:
        data[offset : offset + 40] = needle
    path = tmp_path / "blob"
    path.write_bytes(bytes(data))
    assert scan_file(path, needle) == offsets


def test_a_ledger_is_not_a_key_store(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedgerStore(path).close()
    with pytest.raises(IntegrityError, match="not an expunge key store"):
        SQLiteKeyStore(path)
