"""The document ids an SQLite ledger holds, read without writing or creating anything.

For shell completion, which runs on every TAB press, perhaps while a sweep is writing:
the store proper opens its file read-write (WAL mode, settings applied), and a plain
read-only SQLite connection still creates the ``-wal`` and ``-shm`` files beside it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from expunge.ledger._sqlite import translating_errors
from expunge.ledger.store import _DOC_ID, LEDGER_DB


def document_ids(path: Path) -> tuple[str, ...]:
    """Every document id recorded in the ledger file at ``path``, sorted; ``()`` when
    there is no such file.

    Nothing is written: with a writer's log beside the file, it is read through that log
    (read-only); without one (every writer closed cleanly, the log checkpointed and
    removed), the file is opened immutable, which takes no lock and creates no file. A
    file SQLite cannot read as a ledger raises as the store does (``TargetError``,
    ``IntegrityError``).
    """
    if not path.is_file():
        return ()
    logged = Path(f"{path}-wal").exists() and Path(f"{path}-shm").exists()
    uri = f"{path.absolute().as_uri()}?mode=ro" + ("" if logged else "&immutable=1")
    with translating_errors(path, LEDGER_DB, "read the ledger"):
        conn = sqlite3.connect(uri, uri=True, timeout=1.0)
        try:
            rows = conn.execute(
                f"SELECT DISTINCT {_DOC_ID} FROM entries WHERE {_DOC_ID} IS NOT NULL ORDER BY 1"
            ).fetchall()
        finally:
            conn.close()
    return tuple(str(row[0]) for row in rows)
