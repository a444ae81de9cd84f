"""A station of the fleet test, as a process: it registers COUNT documents (files of its
own, generated ids) in the shared ledger and copies every tenth to a medium (unless the
documents are given a retention: those a sweep is to destroy).

    python fleet_station.py HOME FOLDER COUNT [RETAIN_DAYS]

HOME's config.toml names the station (host) and the ledger. Documents whose number is odd
go to FOLDER/destroy/, the others to FOLDER/keep/. After each append returns it prints
``seq hash doc_id``: those lines are what it acknowledged.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from expunge.core.config import Home, load_settings
from expunge.ledger.entries import Entry
from expunge.workflows import certify, records


def _ack(entry: Entry) -> None:
    print(entry.seq, entry.hash.hex(), entry.event.doc_id, flush=True)


def main(home: Home, folder: Path, count: int, retain_days: int | None) -> None:
    now = datetime.now(UTC)
    retain = now + timedelta(days=retain_days) if retain_days is not None else None
    station = certify.Station.open(home, load_settings(home, os.environ), None)
    policy = records.load_policy(home)
    for sub in ("destroy", "keep"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    with records.create_ledger(home, station) as store:
        for n in range(1, count + 1):
            path = folder / ("destroy" if n % 2 else "keep") / f"doc-{n}.txt"
            path.write_bytes(os.urandom(512) + f"{home.root} {n}".encode())
            entry = records.register_document(
                store,
                records.read_content(str(path)),
                classification="confidential",
                policy=policy,
                title=None,
                custodian="fleet",
                doc_id=None,
                retain_until=retain,
                actor=station.settings.operator,
                now=now,
            )
            _ack(entry)
            if n % 10 == 0 and retain is None:
                doc_id = str(entry.event.doc_id)
                medium = f"MEDIUM-{station.settings.host}-{n}"
                _ack(
                    records.record_copy(
                        store, doc_id, to_path=None, to_medium=medium, actor="op", now=now
                    )
                )


if __name__ == "__main__":
    days = int(sys.argv[4]) if len(sys.argv) > 4 else None
    main(Home(Path(sys.argv[1])), Path(sys.argv[2]), int(sys.argv[3]), days)
