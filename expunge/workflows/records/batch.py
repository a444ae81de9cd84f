"""Registering many files in one call: a tree walked, every file read, then one write
transaction per batch of documents."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from expunge.core import paths as names
from expunge.core.errors import ExpungeError, UsageError
from expunge.ledger.classification import ClassificationPolicy
from expunge.ledger.entries import Entry
from expunge.ledger.store import LedgerStore
from expunge.shred.files import target_error
from expunge.workflows.records.content import FileContent, read_content
from expunge.workflows.records.lookup import RegisteredLocation, locate
from expunge.workflows.records.register import registration

BATCH = 1000
"""Documents per transaction: one signature and one durable commit for each batch."""


@dataclass(frozen=True)
class FileList:
    """The files named (folders walked with ``-r``), each once, and what was passed over."""

    files: tuple[str, ...]
    not_files: tuple[str, ...]
    """Entries of walked folders that are not regular files (symlinks, devices, sockets):
    never followed nor registered."""


def _walk(top: str, found: dict[str, None], others: list[str]) -> None:
    def failed(exc: OSError) -> None:
        raise target_error(exc, exc.filename or top) from None

    for folder, dirs, files in os.walk(top, onerror=failed):  # never follows a symlink
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError as exc:
                raise target_error(exc, path) from None
            if stat.S_ISREG(mode):
                found.setdefault(path)
            else:
                others.append(path)
        # os.walk lists a symlink to a folder among the folders, and does not descend.
        others.extend(
            os.path.join(folder, d) for d in dirs if os.path.islink(os.path.join(folder, d))
        )


def list_files(targets: Sequence[str], *, recursive: bool) -> FileList:
    """The files ``targets`` name, absolute, each once and in order: a folder's files (in
    name order, below it) only with ``recursive``, else it is refused."""
    found: dict[str, None] = {}
    others: list[str] = []
    for target in targets:
        path = os.path.abspath(target)
        if os.path.isdir(path) and not os.path.islink(path):
            if not recursive:
                raise UsageError(
                    "is a directory",
                    target=names.readable(path),
                    remedy="pass -r to register the files in it",
                )
            _walk(path, found, others)
        else:
            found.setdefault(path)
    return FileList(tuple(found), tuple(others))


def _taken(store: LedgerStore, paths: Sequence[str], now: datetime) -> list[RegisteredLocation]:
    found = locate(store, paths, now)
    return [locs[0] for path in paths for locs in (found.get(path, ()),) if locs]


def refuse_taken(taken: Sequence[RegisteredLocation]) -> None:
    """One line for the files that already hold a document (none registered then)."""
    if not taken:
        return
    first = taken[0]
    more = f" (and {len(taken) - 1} more of the files)" if len(taken) > 1 else ""
    raise UsageError(
        f"{first.doc_id} is already recorded here (seq {first.seq}){more}",
        target=names.readable(first.path),
        remedy="one path holds one document: destroy it first, choose another path, or "
        "pass --skip-registered to register only the files not registered yet",
    )


@dataclass(frozen=True)
class Registered:
    """What one ``register`` of many files did."""

    entries: tuple[Entry, ...]
    skipped: tuple[RegisteredLocation, ...]
    """Files already registered, left as they are (``--skip-registered``)."""


def read_all(files: Iterable[str]) -> list[FileContent]:
    """Size and digest of every file, before anything is written."""
    return [read_content(path) for path in files]


def register_documents(
    store: LedgerStore,
    contents: Sequence[FileContent],
    *,
    classification: str,
    policy: ClassificationPolicy,
    custodian: str,
    retain_until: datetime | None,
    skip_registered: bool,
    actor: str,
    now: datetime,
    batch: int = BATCH,
) -> Registered:
    """Register every file read as ``contents`` under generated ids, ``batch`` documents
    per transaction. A file that already holds a document is refused before anything is
    written, or passed over with ``skip_registered``. If a later batch fails, the
    batches before it stay registered, and the error says how many."""
    policy.require(classification)
    taken = _taken(store, [c.path for c in contents], now)
    if not skip_registered:
        refuse_taken(taken)
    skip = {loc.path for loc in taken}
    todo = [c for c in contents if c.path not in skip]
    done: list[Entry] = []
    for start in range(0, len(todo), batch):
        makes = [
            registration(c, classification, custodian, retain_until)
            for c in todo[start : start + batch]
        ]
        try:
            done.extend(store.register_many(makes, actor=actor, now=now))
        except ExpungeError as exc:
            if not done:
                raise
            raise type(exc)(
                f"{exc.message} (after registering {len(done)} of the {len(todo)} files; "
                "run the command again with --skip-registered for the rest)",
                target=exc.target,
                remedy=exc.remedy,
            ) from exc
    return Registered(tuple(done), tuple(taken))
