"""A child process for the concurrency and crash tests: it appends and acknowledges.

    python ledger_child.py LEDGER append TAG COUNT [GO]   register document TAG, then copy it
                                                       COUNT times (0: until killed)
    python ledger_child.py LEDGER register TAG COUNT [GO] register COUNT documents with
                                                       generated ids

LEDGER is an SQLite file or a PostgreSQL URL. With GO, it opens the ledger, prints
``ready`` and waits for the file GO to exist, so that several children start appending at
the same moment; it then pauses up to 5 ms between appends, as a process doing other work
would, so that the others get the write lock.

After each append has returned (committed), it writes ``seq hash-hex`` to stdout and
flushes: the parent treats exactly those lines as acknowledged.
"""

from __future__ import annotations

import itertools
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge.certificates import keyid
from expunge.ledger.entries import StationRef
from expunge.ledger.events import Copy, Register
from expunge.ledger.store import open_store

DIGEST = "ab" * 32


class Station:
    """This child as a station signing its entries (imports kept light: it must start
    quickly, to be killed at random moments of its appends)."""

    def __init__(self, host: str) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.station = StationRef(keyid(self.key.public_key()), host)

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


def main(db: str, mode: str, tag: str, count: int, go: Path | None) -> None:
    now = datetime.now(UTC)
    numbers = itertools.count(1) if count == 0 else range(1, count + 1)
    with open_store(db, signer=Station(tag)) as store:
        if go is not None:
            print("ready", flush=True)
            while not go.exists():
                time.sleep(0.001)

        def make(doc_id: str) -> Register:
            return Register(doc_id, tag, "secret", "alice", f"/docs/{doc_id}", 1, DIGEST)

        if mode == "append":
            entry = store.append(make(tag), actor=tag, now=now)
            print(entry.seq, entry.hash.hex(), flush=True)
        for n in numbers:
            if mode == "append":
                entry = store.append(Copy(tag, to_medium=f"{tag}-{n}"), actor=tag, now=now)
            else:
                entry = store.register_new(make, actor=tag, now=now)
            print(entry.seq, entry.hash.hex(), flush=True)
            if go is not None:
                time.sleep(random.uniform(0, 0.005))


if __name__ == "__main__":
    go = Path(sys.argv[5]) if len(sys.argv) > 5 else None
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), go)
