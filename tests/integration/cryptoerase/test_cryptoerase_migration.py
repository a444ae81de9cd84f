"""Homes of earlier versions: their SQLite key store (``keystore.db``) is migrated on first use.

A legacy home is built as earlier versions left it: ``station.kek`` and ``keystore.db``
holding the wrapped keys (rows written, and some deleted with ``secure_delete`` and a WAL
truncation, which is how the old store left copies in freed blocks). After the first
command: every live key opens its document under a new KEK, the old files are gone, the
old KEK is overwritten in place, and a kill -9 at any moment of the migration loses nothing.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import keywrap

from expunge.core.config import Home
from expunge.ledger.keystore import SQLiteKeyStore
from expunge.shred import sealing
from expunge.workflows.cryptoerase import open_keystore
from expunge.workflows.cryptoerase.kek import discard_next_kek
from tests.support import count_in_file, mounted_image, needs_root, run_cli, unmount
from tests.support.sealflow import certificate, destroy, ok, seal, wrapped_key

CREATED = "2026-01-05T10:00:00Z"


def _legacy_store(root: Path, keys: dict[str, bytes], kek: bytes, doomed: bytes) -> None:
    """``keystore.db`` and ``station.kek`` as an earlier version wrote them: ``keys`` (raw
    document keys) wrapped under ``kek``, and the key ``doomed`` stored then deleted."""
    if not (root / "station.kek").exists():  # rewriting it would free a block holding it
        (root / "station.kek").write_bytes(kek)
        os.chmod(root / "station.kek", 0o600)
    SQLiteKeyStore(root / "keystore.db").close()
    conn = sqlite3.connect(root / "keystore.db", isolation_level=None)
    conn.execute("PRAGMA secure_delete=ON")
    for n, (doc, key) in enumerate(keys.items()):
        conn.execute(
            "INSERT INTO keys VALUES (?, ?, ?, ?)",
            (doc, f"{n:032x}", keywrap.aes_key_wrap(kek, key), CREATED),
        )
    conn.execute("INSERT INTO keys VALUES ('DOC-GONE', 'ff', ?, ?)", (doomed, CREATED))
    conn.execute("DELETE FROM keys WHERE doc_id = 'DOC-GONE'")
    conn.execute("INSERT INTO tombstones VALUES ('DOC-GONE', 'ff', ?, 'CERT-OLD')", (CREATED,))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _to_legacy(home: Path, docs: list[str]) -> bytes:
    """Turn a home sealed by this version into one an earlier version would have left;
    the wrapped key it deleted the old way."""
    kek = (home / "station.kek").read_bytes()
    keys = {d: keywrap.aes_key_unwrap(kek, wrapped_key(home, d)) for d in docs}
    for path in sorted((home / "keystore").iterdir()):
        path.unlink()
    (home / "keystore").rmdir()
    doomed = keywrap.aes_key_wrap(kek, os.urandom(32))
    _legacy_store(home, keys, kek, doomed)
    return doomed


@needs_root
def test_a_legacy_home_is_migrated_and_its_old_kek_is_gone_from_the_disk(tmp_path: Path) -> None:
    docs = ["DOC-L1", "DOC-L2", "DOC-L3"]
    with mounted_image(tmp_path, "ext4", 64 << 20) as image:
        home = image.mount / "home"
        home.mkdir()
        sealed = {}
        for doc in docs:
            plain = image.mount / f"{doc}.txt"
            plain.write_bytes(f"{doc} body ".encode() * 2000)
            sealed[doc] = seal(home, plain, "--doc", doc, "--classification", "secret")
        doomed = _to_legacy(home, docs)
        old_kek = (home / "station.kek").read_bytes()
        leftovers = [doomed, *(w for _, w in _rows(home / "keystore.db"))]
        os.sync()
        unmount(image)
        # The control: before the migration the old KEK and a deleted key are on the disk.
        before = count_in_file(image.image, [old_kek, doomed])
        assert before[old_kek] >= 1 and before[doomed] >= 1, before
        subprocess.run(["mount", "-o", "loop", str(image.image), str(image.mount)], check=True)

        out = tmp_path / "L1.txt"
        ok(run_cli("unseal", sealed["DOC-L1"]["sealed_path"], "-o", out, home=home))
        assert out.read_bytes() == b"DOC-L1 body " * 2000
        names = sorted(p.name for p in home.iterdir())
        assert not [n for n in names if n.startswith("keystore.db") or n.endswith(".next")]
        new_kek = (home / "station.kek").read_bytes()
        assert new_kek != old_kek and len(new_kek) == 32

        payload = certificate(destroy(home, "DOC-L3")["certificate"])
        assert payload["sanitization"]["category"] == "Purge", payload["sanitization"]
        assert "legacy-keystore" in {lim["code"] for lim in payload["limitations"]}
        unmount(image)
    raw = image.image.read_bytes()
    assert raw.count(old_kek) == 0  # overwritten in place: the leftovers unwrap no more
    for wrapped in leftovers:
        if wrapped in raw:  # an old copy in freed blocks: wrapped under a KEK that is gone
            with pytest.raises(keywrap.InvalidUnwrap):
                keywrap.aes_key_unwrap(new_kek, wrapped)


def _rows(path: Path) -> list[tuple[str, bytes]]:
    conn = sqlite3.connect(path)
    try:
        return [(str(d), bytes(w)) for d, w in conn.execute("SELECT doc_id, wrapped FROM keys")]
    finally:
        conn.close()


_MIGRATE = """
import sys
from pathlib import Path
from expunge.core.config import Home
from expunge.workflows.cryptoerase import open_keystore
print("ready", flush=True)
open_keystore(Home(Path(sys.argv[1])), create=False).close()
print("done", flush=True)
"""


def _legacy_home(folder: Path) -> tuple[Path, dict[str, bytes], bytes]:
    folder.mkdir()
    keys = {f"DOC-K{n}": os.urandom(32) for n in range(25)}
    kek = os.urandom(32)
    _legacy_store(folder, keys, kek, keywrap.aes_key_wrap(kek, os.urandom(32)))
    return folder, keys, kek


def _migrate(home: Path, kill_after: float | None) -> bool:
    """Run a migration in a process of its own, killed ``kill_after`` seconds into it;
    whether it finished."""
    root = Path(__file__).resolve().parents[3]
    child = subprocess.Popen(
        [sys.executable, "-c", _MIGRATE, str(home)], cwd=root, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    if kill_after is not None:
        time.sleep(kill_after)
        child.send_signal(signal.SIGKILL)
    finished = child.stdout.read().strip() == "done"
    child.wait()
    return finished


def test_kill_9_during_a_migration_loses_no_key(tmp_path: Path) -> None:
    rng = random.Random(7)
    home, _keys, _kek = _legacy_home(tmp_path / "timing")
    start = time.monotonic()
    assert _migrate(home, None)
    window = time.monotonic() - start
    interrupted = runs = 0
    while interrupted < 6:
        runs += 1
        assert runs <= 40, f"only {interrupted} of {runs} migrations were interrupted"
        home, keys, kek = _legacy_home(tmp_path / f"home{runs}")
        if _migrate(home, rng.uniform(0, window)):
            window *= 0.8  # the machine is faster now: kill earlier
        else:
            interrupted += 1
        with open_keystore(Home(home), create=False) as store:  # resumes the migration
            current = (home / "station.kek").read_bytes()
            for doc, key in keys.items():
                assert sealing.unwrap_key(current, store.get(doc)) == key, (runs, doc)
            assert store.tombstone("DOC-GONE") is not None
            assert store.integrity_check() == ()
        assert current != kek, runs
        left = sorted(p.name for p in home.iterdir())
        assert left == ["keystore", "station.kek"], (runs, left)


def test_a_next_kek_copy_killed_before_its_first_byte_does_not_block_the_store(
    tmp_path: Path,
) -> None:
    # A kill -9 between creating the temporary copy of station.kek.next and writing it
    # leaves an empty file: the next open destroys what there is of it (nothing) and goes on.
    home, keys, _kek = _legacy_home(tmp_path / "home")
    assert _migrate(home, None)
    (home / "station.kek.next").write_bytes(os.urandom(32))
    (home / ".station.kek.next.0123abcd.tmp").write_bytes(b"")
    discard_next_kek(Home(home))
    assert sorted(p.name for p in home.iterdir()) == ["keystore", "station.kek"]
    with open_keystore(Home(home), create=False) as store:
        current = (home / "station.kek").read_bytes()
        for doc, key in keys.items():
            assert sealing.unwrap_key(current, store.get(doc)) == key
