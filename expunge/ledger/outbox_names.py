"""Which records wait in the station's outbox: the names of its files, nothing read.

Every command asks this at its start (records queued while the shared ledger was
unreachable are delivered first); it is kept apart from ``outbox`` so that the common
answer, none, costs one directory listing and no import of the record handling.
"""

from __future__ import annotations

import os
from pathlib import Path

SUFFIX = ".json"


def names(folder: Path) -> list[str]:
    """The keys queued in ``folder``, sorted (cheap: one directory listing)."""
    try:
        listed = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n[: -len(SUFFIX)] for n in listed if n.endswith(SUFFIX) and not n.startswith("."))
