"""The station's outbox: records the shared ledger could not take, queued on disk until
they are delivered.

One file per queued record, ``<folder>/<key>.json``, created atomically (``write_new``:
a temporary file synced, linked into place, the folder synced), so that a crash leaves
the record queued or not, never half; a key queued twice stays one file. The content is
opaque here (layer 2 says what a record holds and how it is delivered). A delivery holds
``<folder>/.lock`` (``flock``) so that two processes of the station never deliver the same
record at once; the ledger's own check under its lock is what makes a delivery that
crashed after its commit harmless.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expunge.core.atomic import fsync_dir, write_new
from expunge.core.canonical import canonical_bytes
from expunge.core.errors import TargetError
from expunge.ledger.outbox_names import SUFFIX, names

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Queued:
    """One queued record: its file, its key and its content (``None``: unreadable)."""

    path: Path
    key: str
    data: dict[str, Any] | None


def _check_key(key: str) -> None:
    if not _KEY.fullmatch(key) or key.endswith(SUFFIX):
        raise ValueError(f"not an outbox key: {key!r}")


def queue(folder: Path, key: str, data: dict[str, Any]) -> Path:
    """Queue ``data`` under ``key``, durably, and return its file; a record already
    queued under ``key`` is kept as it is (queueing is idempotent)."""
    _check_key(key)
    path = folder / f"{key}{SUFFIX}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            write_new(path, canonical_bytes(data) + b"\n", 0o600)
    except OSError as exc:
        raise TargetError(
            f"cannot queue the ledger record: {exc.strerror}",
            target=str(path),
            remedy="free space or fix the permissions of the home folder",
        ) from None
    return path


def pending(folder: Path) -> list[Queued]:
    """Every queued record, in key order; one that cannot be read has ``data`` ``None``."""
    found = []
    for key in names(folder):
        path = folder / f"{key}{SUFFIX}"
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            continue  # delivered meanwhile by another process
        except (OSError, ValueError):
            data = None
        found.append(Queued(path, key, data if isinstance(data, dict) else None))
    return found


def remove(item: Queued) -> None:
    """The record was delivered: its file goes, durably."""
    with contextlib.suppress(FileNotFoundError):
        item.path.unlink()
    fsync_dir(item.path.parent)


@contextlib.contextmanager
def delivering(folder: Path, *, wait: bool) -> Iterator[bool]:
    """Hold the outbox's delivery lock; yields ``False`` (without waiting) when ``wait``
    is false and another process holds it."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
