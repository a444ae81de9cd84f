"""Several processes appending at once, and processes killed with SIGKILL mid-append,
against both stores (an SQLite file; a shared PostgreSQL ledger).

Each child (``ledger_child.py``) prints ``seq hash`` after every append returns; those lines
are what it acknowledged, and every one of them must survive.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from expunge.core.errors import TargetError
from expunge.ledger.chain import verify_chain
from expunge.ledger.store import LedgerStore, open_store

CHILD = Path(__file__).with_name("ledger_child.py")


def _start(
    db: str, mode: str, tag: str, count: int, go: Path | None = None
) -> subprocess.Popen[str]:
    extra = [str(go)] if go else []
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(db), mode, tag, str(count), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _acknowledged(output: str) -> dict[int, str]:
    """``seq -> hash`` for every complete line (a kill can cut the last one short)."""
    acked: dict[int, str] = {}
    for line in output.splitlines(keepends=True):
        parts = line.split()
        if line.endswith("\n") and len(parts) == 2 and len(parts[1]) == 64:
            acked[int(parts[0])] = parts[1]
    return acked


def _stored_hashes(db: str) -> tuple[dict[int, str], LedgerStore]:
    store = open_store(db, create=False)
    return {raw.seq: raw.hash.hex() for raw in store.raw_entries()}, store


def test_concurrent_appenders_keep_one_linear_chain(tmp_path: Path, ledger_location: str) -> None:
    db = ledger_location
    go = tmp_path / "go"
    children = [_start(db, "append", f"DOC-P{n}", 150, go) for n in range(3)]
    children.append(_start(db, "register", "registrar", 150, go))
    outputs: list[dict[int, str]] = []
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        go.touch()
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            outputs.append(_acknowledged(out))
    finally:
        for child in children:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
                child.wait()
    stored, store = _stored_hashes(db)
    with store:
        report = verify_chain(store.raw_entries(), ledger_id=store.ledger_id)
        assert report.ok, report.problems
        entries = list(store.entries())
    total = 3 * 151 + 150
    assert sorted(stored) == list(range(1, total + 1))
    acked = [seq for acks in outputs for seq in acks]
    assert sorted(acked) == list(range(1, total + 1))  # every seq acknowledged exactly once
    for acks in outputs:
        assert all(stored[seq] == digest for seq, digest in acks.items())
    actors = [e.actor for e in entries]
    switches = sum(a != b for a, b in itertools.pairwise(actors))
    assert switches > len(children)  # they really appended at the same time
    registered = [e.event.doc_id for e in entries if e.actor == "registrar"]
    assert len(set(registered)) == 150


def test_sigkill_at_random_moments_loses_no_acknowledged_append(ledger_location: str) -> None:
    db = ledger_location
    rng = random.Random(os.urandom(8))
    acknowledged: dict[int, str] = {}
    for run in range(20):
        child = _start(db, "append", f"DOC-RUN{run}", 0)
        first = ""
        if run % 2:
            # Every other run waits for the first acknowledged append (a child starting
            # slowly would otherwise be killed before it appends at all) ...
            assert child.stdout is not None
            first = child.stdout.readline()
        # ... the others are killed at any moment, while the child may be creating the
        # ledger.
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
        out = first + out
        assert child.returncode == -signal.SIGKILL
        acknowledged.update(_acknowledged(out))
        try:
            stored, store = _stored_hashes(db)
        except TargetError:
            continue  # killed before the interpreter got as far as creating the ledger
        with store:
            assert store.integrity_check() == ()
            report = verify_chain(store.raw_entries(), ledger_id=store.ledger_id)
            assert report.ok, report.problems
        missing = {seq for seq, digest in acknowledged.items() if stored.get(seq) != digest}
        assert not missing, f"run {run}: acknowledged appends lost: {sorted(missing)[:5]}"
    assert len(acknowledged) > 20  # the children did get to append between kills
