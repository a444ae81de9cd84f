"""Fleet benchmark: the shared PostgreSQL ledger against the SQLite file.

    python benchmarks/bench_fleet.py [--pg URL] [--appends 300] [--entries 100000]
                                     [--dir /var/tmp] [--json]

1. Appends per second from 1, 3 and 8 stations appending at once (one process each, its
   own store and station key, each append its own signed, durable transaction, as
   ``ledger copy`` does), against a fresh shared ledger and a fresh SQLite file.
2. ``expunge audit`` (a subprocess, imports included; best of two) of a ledger of
   ``--entries`` entries with real certificates (built as ``bench_audit.py`` builds it),
   from the SQLite file, and from PostgreSQL after ``ledger migrate`` copied it there
   (the time of the migration is printed too); the ratio PostgreSQL / SQLite.

``--pg`` is a superuser URL of a running server (each run creates its own database);
without it a throwaway cluster is started (Debian's ``/usr/lib/postgresql/*/bin``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support.postgres

from bench_audit import build
from bench_ledger import BenchStation

from expunge.core.config import Home, StationSettings
from expunge.ledger.events import Copy, Register
from expunge.ledger.postgres.setup import setup
from expunge.ledger.store import open_store
from expunge.workflows import certify, records
from expunge.workflows.records.migrate import migrate
from tests.support.postgres import fresh_database, own_cluster

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@contextmanager
def server(given: str | None) -> Iterator[str]:
    """The server's superuser URL: ``--pg``, or a throwaway cluster's."""
    if given:
        yield given
        return
    with own_cluster() as cluster:
        yield cluster.url


def _appender(location: str, tag: str, count: int, go: multiprocessing.synchronize.Event,
              ready: multiprocessing.synchronize.Semaphore) -> None:  # fmt: skip
    with open_store(location, signer=BenchStation()) as store:
        store.append(Register(tag, tag, "secret", "alice", f"/d/{tag}", 1, "ab" * 32),
                     actor="bench", now=NOW)  # fmt: skip
        ready.release()
        go.wait()
        for n in range(count):
            store.append(Copy(tag, to_medium=f"{tag}-{n}"), actor="bench", now=NOW)


def appends_per_second(location: str, stations: int, count: int) -> float:
    """Total appends per second of ``stations`` processes appending ``count`` each."""
    go, ready = multiprocessing.Event(), multiprocessing.Semaphore(0)
    workers = [
        multiprocessing.Process(target=_appender, args=(location, f"S{n}", count, go, ready))
        for n in range(stations)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise SystemExit(f"an appender failed ({worker.exitcode})")
    return stations * count / (time.perf_counter() - start)


def run_audit(home: Home, url: str | None) -> float:
    """``expunge audit --json`` as a user runs it, best of two: wall seconds."""
    env = {**os.environ, "EXPUNGE_HOME": str(home.root)}
    if url:
        env["EXPUNGE_LEDGER_URL"] = url
    times = []
    for _ in range(2):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "expunge", "audit", "--json"],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"audit failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
    return min(times)


def main() -> None:
    """Measure, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=None, help="superuser URL of a running server")
    parser.add_argument("--appends", type=int, default=300)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp"))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures: dict[str, object] = {}
    with (
        server(args.pg) as pg,
        tempfile.TemporaryDirectory(prefix="expunge-bench-fleet-", dir=args.dir) as tmp,
    ):
        for stations in (1, 3, 8):
            with fresh_database(pg) as url:
                setup(url)
                figures[f"postgres_appends_per_s_{stations}"] = round(
                    appends_per_second(url, stations, args.appends)
                )
            sqlite = str(Path(tmp) / f"appends-{stations}.db")
            figures[f"sqlite_appends_per_s_{stations}"] = round(
                appends_per_second(sqlite, stations, args.appends)
            )
        home = Home(Path(tmp) / "home").ensure()
        figures.update(build(home, args.entries))
        figures["sqlite_audit_s"] = round(run_audit(home, None), 2)
        with fresh_database(pg) as url:
            setup(url)
            station = certify.Station.open(home, StationSettings(operator="bench"), None)
            start = time.perf_counter()
            with (
                open_store(home.ledger_path, create=False) as source,
                records.create_ledger(Home(home.root, url), station) as target,
            ):
                migrated = migrate(source, target, actor="bench", now=NOW)
            figures["migrate_s"] = round(time.perf_counter() - start, 1)
            figures["migrated_entries"] = migrated.entries
            figures["postgres_audit_s"] = round(run_audit(home, url), 2)
        ratio = float(figures["postgres_audit_s"]) / float(figures["sqlite_audit_s"])  # type: ignore[arg-type]
        figures["audit_ratio_postgres_over_sqlite"] = round(ratio, 2)
    figures["load_average"] = os.getloadavg()
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, value in figures.items():
        print(f"{name:>34}: {value}")


if __name__ == "__main__":
    main()
