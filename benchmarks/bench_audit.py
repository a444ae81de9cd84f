"""Audit benchmark: ``expunge audit`` over a ledger of 100,000 entries with real certificates.

    python benchmarks/bench_audit.py [--entries 100000] [--dir /var/tmp]
                                     [--transactions batched|per-entry] [--json]

The ledger is built through the library, as ``ledger register`` / ``ledger copy`` /
``ledger transfer`` / ``expunge destroy`` would build it: per document a register, a copy
to a path, a transfer and a destroy covering both paths, citing its own certificate (two
file subjects, a verified random pass each, signed with the station key, a ledger anchor,
about 4 KiB of envelope). Every certificate is also written to ``<home>/certificates``,
as ``destroy`` does, so the audit reads and anchors them too; a signed checkpoint follows
every 5,000 entries. This is the worst case for an audit: one distinct certificate per
document (a directory or drive certificate covering many documents is verified once).

Entries are signed by the station (record format v2), once per append transaction.
``--transactions batched`` (the default) appends 1,250 documents' events per transaction,
as a directory destroyed or a drive wiped would; ``per-entry`` appends every event in its
own transaction, as one command per event does: one station signature per entry, the worst
case for signature verification (build it on a fast folder, e.g. ``--dir /dev/shm``: it
commits 100,000 times).

Then ``expunge audit --json`` runs as a subprocess (wall time of the whole command,
imports included), three times; the best and the median are printed. Goal: <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from expunge.certificates import new_certificate_id, sign_certificate
from expunge.certificates.storage import write_envelope
from expunge.certificates.subjects import FileSubject
from expunge.core.config import Home, StationSettings
from expunge.ledger.events import Copy, Destroy, Event, Register, Transfer
from expunge.ledger.store import SQLiteLedgerStore
from expunge.shred.methods import choose_method
from expunge.workflows import certify, destroy, records

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
DIGEST = "ab" * 32
BATCH = 1250  # documents per pair of transactions (5,000 entries)


def template(home: Home, folder: Path) -> certify.IssuedCertificate:
    """One real certificate of a file destruction, to vary per document."""
    station = certify.Station.open(home, StationSettings(operator="bench"), None)
    path = folder / "original.pdf"
    path.write_bytes(os.urandom(1 << 16))
    request = destroy.ShredRequest(paths=(str(path),), method=choose_method(None, None, False))
    (one,) = destroy.shred_paths(request, station)
    assert one.certificate is not None
    return one.certificate


def _appender(store: SQLiteLedgerStore, per_entry: bool) -> Callable[[list[Event]], None]:
    def append(events: list[Event]) -> None:
        if per_entry:
            for event in events:
                store.append(event, actor="bench", now=NOW)
        else:
            store.append_many(events, actor="bench", now=NOW)

    return append


def build(home: Home, entries: int, per_entry: bool = False) -> dict[str, float]:
    """A ledger of ``entries`` entries and its certificates folder."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=home.root.parent) as scratch:  # not in the home
        issued = template(home, Path(scratch))
    for stale in home.certificates.iterdir():
        stale.unlink()
    station = certify.Station.open(home, StationSettings(operator="bench"), None)
    key = station.key
    base = issued.certificate
    record = base.subjects[0]
    subject = record.subject
    assert isinstance(subject, FileSubject)
    signer = records.station_signer(key)
    documents = entries // 4
    # Signed as the station signs; the head record is written once at the end rather than
    # after each of the (up to 100,000) commits.
    with SQLiteLedgerStore(home.ledger_path, signer=records.StationSigner(station)) as store:
        append = _appender(store, per_entry)
        for first in range(1, documents + 1, BATCH):
            numbers = range(first, min(first + BATCH, documents + 1))
            lives: list[Event] = []
            for n in numbers:
                doc = f"DOC-2026-{n:06d}"
                original, copy = f"/srv/docs/{doc}.pdf", f"/media/share/{doc}.pdf"
                lives += [
                    Register(doc, f"Report {n}", "secret", "alice", original, subject.size,
                             DIGEST),
                    Copy(doc, to_path=copy),
                    Transfer(doc, "bob"),
                ]  # fmt: skip
            append(lives)
            anchor = records.current_anchor(store)
            destroys: list[Event] = []
            for n in numbers:
                doc = f"DOC-2026-{n:06d}"
                subjects = tuple(
                    replace(
                        record,
                        subject=replace(subject, path=path, document_id=doc, content_blake3=DIGEST),
                    )
                    for path in (f"/srv/docs/{doc}.pdf", f"/media/share/{doc}.pdf")
                )
                certificate = replace(
                    base,
                    certificate_id=new_certificate_id(NOW),
                    target=doc,
                    subjects=subjects,
                    ledger_anchor=anchor,
                )
                envelope = sign_certificate(certificate, key)
                write_envelope(
                    home.certificates / f"{certificate.certificate_id}.cert.json", envelope
                )
                destroys.append(
                    Destroy(doc, "clear", certificate.certificate_id, envelope.payload_sha256,
                            envelope.to_dict(), paths=tuple(s.subject.path for s in subjects))
                )  # fmt: skip
            append(destroys)
            last = store.checkpoint(signer, actor="bench", now=NOW)
        records.record_head(station, last)
        count = store.head()
    built = time.perf_counter() - start
    return {
        "entries": count.seq if count else 0,
        "certificates": documents,
        "database_mib": home.ledger_path.stat().st_size / (1 << 20),
        "build_seconds": built,
    }


def run_audit(home: Home) -> tuple[float, dict[str, object]]:
    """``expunge audit --json`` as a user runs it: wall time and its report."""
    env = {**os.environ, "EXPUNGE_HOME": str(home.root)}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "expunge", "audit", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"audit failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
    return elapsed, json.loads(proc.stdout)


def _signatures(report: dict[str, object]) -> object:
    authenticity = report["authenticity"]
    assert isinstance(authenticity, dict)
    return authenticity["signatures_verified"]


def main() -> None:
    """Build, audit three times, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp"))
    parser.add_argument("--transactions", choices=("batched", "per-entry"), default="batched")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="expunge-bench-audit-", dir=args.dir) as tmp:
        home = Home(Path(tmp) / "home").ensure()
        figures: dict[str, object] = {"transactions": args.transactions}
        figures.update(build(home, args.entries, args.transactions == "per-entry"))
        times = []
        report: dict[str, object] = {}
        for _ in range(3):
            seconds, report = run_audit(home)
            times.append(seconds)
    figures.update(
        audit_seconds_best=min(times),
        audit_seconds_median=statistics.median(times),
        audit_runs=times,
        report_entries=report["entries"],
        certificates_verified=report["certificates_verified"],
        checkpoints_verified=report["checkpoints_verified"],
        entry_signatures_verified=_signatures(report),
        load_average=os.getloadavg(),
        goal_seconds=5.0,
        passed=statistics.median(times) <= 5.0,
    )
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, value in figures.items():
        print(f"{name:>22}: {value}")


if __name__ == "__main__":
    main()
