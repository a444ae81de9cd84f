"""Ledger benchmark: durable appends per second, and verifying a 100,000-entry ledger.

    python benchmarks/bench_ledger.py [--appends 2000] [--entries 100000] [--register 10000]
                                      [--dir DIR]

1. ``--appends`` single appends (the same mix of events), each its own ``BEGIN IMMEDIATE``
   transaction, signed by a station key and committed with ``synchronous=FULL`` (an fsync
   of the WAL per append), as ``ledger copy`` does (less the station's head record).
2. A ledger of ``--entries`` entries (register, copy, transfer, destroy with a 1 KiB
   certificate envelope per document) built in batches of 5,000 per transaction, then
   read back from SQLite and verified (hashes, links, parsing of every record); then the
   same with the parsed entries kept and every document's state derived, which is what
   ``expunge audit`` does before it checks certificates. Goal: read + verify <= 5 s.
3. ``expunge ledger register -r`` of a tree of ``--register`` files of 4 KiB (100 per
   folder) in one call, as a user runs it (a subprocess, imports included): every file
   read and hashed, one transaction per batch of 1,000. Goal: 10,000 files <= 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge.certificates import keyid
from expunge.ledger.chain import verify_and_parse, verify_chain
from expunge.ledger.entries import StationRef
from expunge.ledger.events import Copy, Destroy, Event, Register, Transfer
from expunge.ledger.state import all_documents
from expunge.ledger.store import SQLiteLedgerStore

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
ENVELOPE = {
    "payloadType": "application/vnd.expunge.certificate+json",
    "payload": "A" * 900,
    "signatures": [{"keyid": "f" * 64, "sig": "B" * 88}],
}


class BenchStation:
    """A throwaway station key signing the benchmark's entries."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.station = StationRef(keyid(self.key.public_key()), "bench")

    def sign(self, message: bytes) -> bytes:
        """Ed25519 with the throwaway key."""
        return self.key.sign(message)


def document_events(n: int) -> list[Event]:
    """Four events of one document, as a typical life in the register."""
    doc = f"DOC-2026-{n:06d}"
    return [
        Register(doc, f"Report {n}", "secret", "alice", f"/srv/docs/{doc}.pdf", 123_456,
                 os.urandom(32).hex()),
        Copy(doc, to_medium=f"SERIAL-{n % 97}"),
        Transfer(doc, "bob"),
        Destroy(doc, "clear", f"CERT-{n}", os.urandom(32).hex(), ENVELOPE,
                media=(f"SERIAL-{n % 97}",)),
    ]  # fmt: skip


def bench_appends(folder: Path, count: int) -> dict[str, float]:
    """``count`` single durable appends: the lives of ``count / 4`` documents."""
    events = [e for n in range(1, count // 4 + 2) for e in document_events(n)][:count]
    with SQLiteLedgerStore(folder / "appends.db", signer=BenchStation()) as store:
        start = time.perf_counter()
        for event in events:
            store.append(event, actor="bench", now=NOW)
        elapsed = time.perf_counter() - start
    return {"appends": count, "seconds": elapsed, "appends_per_second": count / elapsed}


def bench_verify(folder: Path, entries: int) -> dict[str, float]:
    """Build a ledger of ``entries`` entries, then time reading and verifying it."""
    path = folder / "audit.db"
    with SQLiteLedgerStore(path, signer=BenchStation()) as store:
        start = time.perf_counter()
        batch: list[Event] = []
        for n in range(1, entries // 4 + 1):
            batch += document_events(n)
            if len(batch) >= 5000:
                store.append_many(batch, actor="bench", now=NOW)
                batch = []
        if batch:
            store.append_many(batch, actor="bench", now=NOW)
        built = time.perf_counter() - start
    with SQLiteLedgerStore(path, create=False) as store:
        start = time.perf_counter()
        raws = list(store.raw_entries())
        read = time.perf_counter() - start
        start = time.perf_counter()
        report = verify_chain(raws, ledger_id=store.ledger_id)
        verified = time.perf_counter() - start
        start = time.perf_counter()
        report, parsed = verify_and_parse(raws, ledger_id=store.ledger_id)
        documents = all_documents(parsed, NOW)
        audited = time.perf_counter() - start + read
    if not report.ok or len(documents) != entries // 4:
        raise SystemExit(f"benchmark ledger does not verify: {report.problems[:3]}")
    return {
        "entries": report.entries,
        "database_mib": path.stat().st_size / (1 << 20),
        "build_seconds": built,
        "read_seconds": read,
        "verify_seconds": verified,
        "read_and_verify_seconds": read + verified,
        "read_verify_and_state_seconds": audited,
    }


def bench_register(folder: Path, files: int) -> dict[str, float]:
    """``expunge ledger register -r`` of ``files`` files of 4 KiB in one call."""
    tree = folder / "tree"
    for n in range(files):
        sub = tree / f"d{n // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{n:05d}.pdf").write_bytes(os.urandom(4096))
    env = {**os.environ, "EXPUNGE_HOME": str(folder / "home")}
    command = [sys.executable, "-m", "expunge", "ledger", "register", "-r", str(tree)]
    start = time.perf_counter()
    proc = subprocess.run(
        [*command, "--classification", "secret"], capture_output=True, text=True, env=env
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or f"registered {files} documents" not in proc.stdout:
        raise SystemExit(f"register failed ({proc.returncode}): {proc.stderr[-500:]}")
    return {
        "files": files,
        "seconds": elapsed,
        "files_per_second": files / elapsed,
        "goal_seconds": 10.0 * files / 10_000,
        "passed": elapsed <= 10.0 * files / 10_000,
    }


def main() -> None:
    """Run both benchmarks and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--register", type=int, default=10_000, help="files for case 3")
    parser.add_argument("--dir", type=Path, help="folder for the databases (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        results = {
            "sync_full_appends": bench_appends(folder, args.appends),
            "verify": bench_verify(folder, args.entries),
            "register_r": bench_register(folder, args.register),
            "load_average": os.getloadavg(),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
