"""The key store: keys in fixed slots, destroyed in place and proven gone, crash-safe.

Every check of "the key is gone" reads the store's files independently of the store's own
scanner; every such check is paired with a control (a live key) that the same read finds.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from expunge.core.errors import (
    IntegrityError,
    RefusedError,
    TargetError,
    UsageError,
)
from expunge.ledger.keystore import SLOT_SIZE, KeyStore, SQLiteKeyStore, scan_file
from expunge.ledger.keystore.scan import scan_needles
from expunge.ledger.keystore.slots import HEADER_SIZE
from expunge.ledger.store import SQLiteLedgerStore
from tests.support.ledger import NOW

KEK = "a1" * 8


def _occurs(folder: Path, needle: bytes) -> list[str]:
    """The store's files holding ``needle``, read without the store (in this process
    only while no other process uses the store: reading the index drops SQLite's locks)."""
    return sorted(p.name for p in folder.iterdir() if needle in p.read_bytes())


def _wrapped(doc_id: str) -> bytes:
    """A distinct 40-byte value per document, the same in every process."""
    return hashlib.sha512(doc_id.encode()).digest()[:40]


def test_keys_round_trip_in_private_durable_files(tmp_path: Path) -> None:
    folder = tmp_path / "keystore"
    wrapped = os.urandom(40)
    with KeyStore(folder) as store:
        stored = store.put("DOC-1", wrapped, kek=KEK, now=NOW)
        assert store.get("DOC-1") == wrapped
        assert store.info("DOC-1") == stored and len(stored.key_id) == 32
        assert (stored.slot, stored.kek, stored.origin) == (0, KEK, "sealed")
        assert store.integrity_check() == ()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    slots = folder / "slots"
    # Allocated with real blocks from the start: no hole a later write could fill elsewhere.
    assert slots.stat().st_blocks * 512 >= slots.stat().st_size
    assert _occurs(folder, wrapped) == ["slots"]  # the index never holds key material
    raw = slots.read_bytes()
    assert raw.index(wrapped) // SLOT_SIZE == (HEADER_SIZE + 0) // SLOT_SIZE
    with KeyStore(folder, create=False) as again:
        assert again.get("DOC-1") == wrapped


def test_destroyed_keys_are_in_no_file_and_the_others_survive(tmp_path: Path) -> None:
    folder = tmp_path / "keystore"
    keys = {f"DOC-{n}": os.urandom(40) for n in range(30)}
    doomed = [f"DOC-{n}" for n in range(0, 30, 3)]
    with KeyStore(folder) as store:
        for doc, wrapped in keys.items():
            store.put(doc, wrapped, kek=KEK, now=NOW)
        assert _occurs(folder, keys[doomed[0]])  # the check below can find keys
        slots_before = (folder / "slots").stat().st_ino
        for doc in doomed:
            raw = os.urandom(32)
            result = store.destroy(doc, now=NOW + timedelta(hours=1), also_scan={"raw": raw})
            assert result.verified and result.residue == ()
            assert result.slot.matches and result.slot.cache_bypass == "O_DIRECT"
            assert result.slot.length == SLOT_SIZE and result.needles == ("wrapped", "raw")
            assert str(folder / "slots") in result.files_scanned and result.key_length == 40
        for doc in doomed:
            assert _occurs(folder, keys[doc]) == [], doc
            assert store.scan_for(keys[doc]) == []
        for doc, wrapped in keys.items():
            if doc not in doomed:
                assert store.get(doc) == wrapped
                assert _occurs(folder, wrapped) == ["slots"]
        # The freed slot is reused in place: the file never moved or grew for it.
        again = store.put("DOC-NEW", os.urandom(40), kek=KEK, now=NOW)
        assert again.slot == 0
        assert (folder / "slots").stat().st_ino == slots_before
        assert store.integrity_check() == ()
    for doc in doomed:  # also once the store is closed and SQLite has tidied up
        assert _occurs(folder, keys[doc]) == []


def test_a_destroyed_key_says_when_and_by_which_certificate(tmp_path: Path) -> None:
    with KeyStore(tmp_path / "keystore") as store:
        store.put("DOC-7", os.urandom(40), kek=KEK, now=NOW)
        result = store.destroy("DOC-7", now=NOW + timedelta(days=2))
        assert result.tombstone.certificate_id is None
        with pytest.raises(TargetError) as caught:
            store.get("DOC-7")
        assert (
            "the key of DOC-7 was destroyed on 2026-03-03T12:00:00Z" in caught.value.diagnostics()
        )
        tomb = store.record_certificate("DOC-7", "CERT-42")
        assert store.tombstone("DOC-7") == tomb
        with pytest.raises(TargetError, match=r"\(certificate CERT-42\)"):
            store.get("DOC-7")
        with pytest.raises(TargetError, match="destroyed on"):
            store.destroy("DOC-7", now=NOW)
        with pytest.raises(RefusedError, match="destroyed on"):
            store.put("DOC-7", os.urandom(40), kek=KEK, now=NOW)


def test_refusals(tmp_path: Path) -> None:
    with KeyStore(tmp_path / "keystore") as store:
        store.put("DOC-1", b"k" * 40, kek=KEK, now=NOW)
        with pytest.raises(RefusedError, match="already has a key"):
            store.put("DOC-1", b"j" * 40, kek=KEK, now=NOW)
        with pytest.raises(TargetError, match="no key for this document"):
            store.get("DOC-2")
        with pytest.raises(TargetError, match="no destroyed key"):
            store.record_certificate("DOC-1", "CERT-1")
        for bad in (b"", b"x" * 257):
            with pytest.raises(UsageError):
                store.put("DOC-3", bad, kek=KEK, now=NOW)
        with pytest.raises(UsageError):
            store.put("not an id", b"k" * 40, kek=KEK, now=NOW)
        with pytest.raises(UsageError, match="KEK tag"):
            store.put("DOC-4", b"k" * 40, kek="zz", now=NOW)
        assert store.tombstone("DOC-1") is None and store.info("DOC-2") is None
    with pytest.raises(TargetError, match="nothing was ever sealed"):
        KeyStore(tmp_path / "elsewhere", create=False)


def test_releases_are_recorded_before_the_key_is_handed_out(tmp_path: Path) -> None:
    with KeyStore(tmp_path / "keystore") as store:
        wrapped = os.urandom(40)
        store.put("DOC-1", wrapped, kek=KEK, now=NOW)
        assert store.releases("DOC-1") == ()
        assert store.release("DOC-1", "/out/a.txt", now=NOW) == wrapped
        store.release("DOC-1", "/out/b.txt", now=NOW + timedelta(minutes=1))
        assert [r.path for r in store.releases("DOC-1")] == ["/out/a.txt", "/out/b.txt"]
        store.destroy("DOC-1", now=NOW)
        with pytest.raises(TargetError, match="destroyed on"):
            store.release("DOC-1", "/out/c.txt", now=NOW)
        assert len(store.releases("DOC-1")) == 2  # a refused release is not recorded


def test_a_damaged_slot_is_an_integrity_error_and_is_never_reused(tmp_path: Path) -> None:
    folder = tmp_path / "keystore"
    with KeyStore(folder) as store:
        store.put("DOC-1", os.urandom(40), kek=KEK, now=NOW)
    slots = folder / "slots"
    data = bytearray(slots.read_bytes())
    data[HEADER_SIZE + 100] ^= 0x01
    slots.write_bytes(bytes(data))
    with KeyStore(folder) as store, pytest.raises(IntegrityError) as caught:
        store.get("DOC-1")
    line = caught.value.diagnostics()
    assert "key slot is damaged" in line and "\n" not in line and str(slots) in line


def test_a_lost_index_is_rebuilt_from_the_slots(tmp_path: Path) -> None:
    folder = tmp_path / "keystore"
    keys = {f"DOC-{n}": os.urandom(40) for n in range(5)}
    with KeyStore(folder) as store:
        for doc, wrapped in keys.items():
            store.put(doc, wrapped, kek=KEK, now=NOW)
        store.destroy("DOC-2", now=NOW)
    for path in folder.glob("index.db*"):
        path.unlink()
    with KeyStore(folder) as store:
        assert {k.doc_id for k in store.live_keys()} == set(keys) - {"DOC-2"}
        for doc, wrapped in keys.items():
            if doc != "DOC-2":
                assert store.get(doc) == wrapped


def test_an_index_older_than_the_slots_never_overwrites_a_key(tmp_path: Path) -> None:
    folder = tmp_path / "keystore"
    with KeyStore(folder) as store:
        store.put("DOC-1", os.urandom(40), kek=KEK, now=NOW)
    old_index = {p.name: p.read_bytes() for p in folder.glob("index.db*")}
    later = os.urandom(40)
    with KeyStore(folder) as store:
        store.put("DOC-2", later, kek=KEK, now=NOW)  # slot 1
        store.destroy("DOC-1", now=NOW)  # slot 0 free again
    for path in folder.glob("index.db*"):
        path.unlink()
    for name, data in old_index.items():  # a backup of the index from before DOC-2
        (folder / name).write_bytes(data)
    with KeyStore(folder) as store:
        problems = store.integrity_check()
        assert any("slot 0" in p for p in problems) and any("DOC-2" in p for p in problems)
        with pytest.raises(IntegrityError, match="does not hold the key"):
            store.get("DOC-1")  # the old index still names DOC-1 in slot 0, now zeroed
        with pytest.raises(IntegrityError, match="holds the key of DOC-2"):
            store.put("DOC-3", os.urandom(40), kek=KEK, now=NOW)
    assert later in (folder / "slots").read_bytes()


_CHILD = textwrap.dedent(
    """
    import os, random, sys
    from datetime import UTC, datetime
    from expunge.ledger.keystore import KeyStore
    from tests.unit.ledger.test_ledger_keystore import _wrapped
    folder, start, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    now = datetime.now(UTC)
    live = []
    with KeyStore(folder) as store:
        live = [k.doc_id for k in store.live_keys()]
        for n in range(start, start + 1000):
            doc = f"DOC-{n}"
            print("putting", doc, flush=True)
            store.put(doc, _wrapped(doc), kek="a1" * 8, now=now)
            print("stored", doc, flush=True)
            live.append(doc)
            if live and rng.random() < 0.5:
                victim = live.pop(rng.randrange(len(live)))
                print("destroying", victim, flush=True)
                store.destroy(victim, now=now)
                print("destroyed", victim, flush=True)
    """
)


def test_kill_9_never_loses_a_live_key_nor_leaves_a_destroyed_one(tmp_path: Path) -> None:
    folder = tmp_path / "keystore"
    root = Path(__file__).resolve().parents[3]
    expected: set[str] = set()  # put returned, no destroy begun
    gone: set[str] = set()  # destroy returned, or a begun step found undone
    for run in range(12):
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(folder), str(1000 * run), str(run)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
        )
        assert child.stdout is not None
        lines = []
        for line in child.stdout:  # killed well into its work, somewhere inside a step
            lines.append(line.split())
            if len(lines) >= 8 + 3 * run:
                child.kill()
                break
        child.wait()
        lines.extend(line.split() for line in child.stdout.read().splitlines())
        uncertain: set[str] = set()
        for step, doc in lines:
            if step in ("putting", "destroying"):
                uncertain.add(doc)
            elif step == "stored":
                expected.add(doc)
                uncertain.discard(doc)
            elif step == "destroyed":
                expected.discard(doc)
                gone.add(doc)
                uncertain.discard(doc)
        with KeyStore(folder) as store:  # recovery runs here
            live = {k.doc_id for k in store.live_keys()}
            assert expected - uncertain <= live, (run, expected - live)
            assert live <= expected | uncertain and not live & gone, run
            for doc in expected - uncertain:
                assert store.get(doc) == _wrapped(doc)
            assert store.integrity_check() == ()
        gone |= uncertain - live
        expected = (expected | uncertain) & live | (expected - uncertain)
        data = b"".join(p.read_bytes() for p in folder.iterdir())
        for doc in gone:
            assert _wrapped(doc) not in data, (run, doc)
        for doc in live:
            assert _wrapped(doc) in data
    assert len(expected) > 12 and len(gone) > 12, (len(expected), len(gone))


_WRITER = textwrap.dedent(
    """
    import os, sys
    from datetime import UTC, datetime
    from expunge.ledger.keystore import KeyStore
    from tests.unit.ledger.test_ledger_keystore import _wrapped
    folder, who = sys.argv[1], sys.argv[2]
    with KeyStore(folder) as store:
        for n in range(15):
            doc = f"DOC-{who}-{n}"
            store.put(doc, _wrapped(doc), kek="a1" * 8, now=datetime.now(UTC))
            if n % 3 == 0:
                store.destroy(doc, now=datetime.now(UTC))
    """
)


def test_concurrent_writers_take_turns(tmp_path: Path) -> None:
    folder = tmp_path / "keystore"
    root = Path(__file__).resolve().parents[3]
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(folder), f"W{w}"], cwd=root)
        for w in range(4)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0] * 4
    with KeyStore(folder) as store:
        live = store.live_keys()
        assert len(live) == 4 * 10
        assert len({k.slot for k in live}) == len(live)
        for key in live:
            assert store.get(key.doc_id) == _wrapped(key.doc_id)
        data = (folder / "slots").read_bytes()
        for w in range(4):
            for n in range(0, 15, 3):
                doc = f"DOC-W{w}-{n}"
                assert store.tombstone(doc) is not None
                assert _wrapped(doc) not in data


def test_scan_file_finds_every_occurrence_across_chunk_borders(tmp_path: Path) -> None:
    needle = os.urandom(40)
    data = bytearray(os.urandom(3 << 20))
    offsets = [0, (1 << 20) - 20, (2 << 20) - 1, len(data) - 40]
    for offset in offsets:
        data[offset : offset + 40] = needle
    path = tmp_path / "blob"
    path.write_bytes(bytes(data))
    assert scan_file(path, needle) == offsets
    short = needle[:8]  # a shorter needle in the carried-over tail is counted once
    found, size = scan_needles(path, {"long": needle, "short": short})
    assert found["long"] == offsets and size == len(data)
    assert found["short"] == sorted(set(found["short"])) and set(offsets) <= set(found["short"])


def test_the_old_sqlite_store_is_read_for_migration(tmp_path: Path) -> None:
    path = tmp_path / "keystore.db"
    SQLiteKeyStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO keys VALUES ('DOC-1', 'k1', ?, '2026-01-01T00:00:00Z')", (b"w",))
        conn.execute("INSERT INTO tombstones VALUES ('DOC-2', 'k2', '2026-01-02T00:00:00Z', 'C')")
    conn.close()
    with SQLiteKeyStore(path, create=False) as old:
        (key,) = old.live_keys()
        (tomb,) = old.tombstones()
    assert (key.doc_id, key.key_id, key.wrapped) == ("DOC-1", "k1", b"w")
    assert (tomb.doc_id, tomb.certificate_id) == ("DOC-2", "C")


def test_a_ledger_is_not_a_key_store(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedgerStore(path).close()
    with pytest.raises(IntegrityError, match="not an expunge key store"):
        SQLiteKeyStore(path)
