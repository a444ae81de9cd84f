"""A run log read back: what a dead run (see ``runlog``) did to each of its files.

Apart from ``runlog`` because only the recovery of a dead run needs it: a one-file shred
in a home without such logs does not build these classes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expunge.core import paths
from expunge.core.errors import IntegrityError
from expunge.shred.journal import JournalRecord, WipeJournal, journal_of_file, journal_path
from expunge.shred.report import Limitation, TargetIdentity
from expunge.workflows.destroy.logged_journal import LoggedJournal


@dataclass
class FileSteps:
    """What a run log says of one file."""

    identity: TargetIdentity
    limitations: tuple[Limitation, ...]
    digest: str | None
    verified: dict[str, Any] | None = None
    removed: bool = False
    remove_error: str | None = None
    journal: JournalRecord | None = None
    """The wipe journal kept in the log, as last logged (None: a journal file, if any)."""


@dataclass
class LoggedRun:
    """A run log as read back: its header, its files in order, its certificate if any."""

    path: Path
    header: dict[str, Any]
    files: list[FileSteps] = field(default_factory=list)
    certificate: str | None = None
    _by_path: dict[str, FileSteps] = field(default_factory=dict, repr=False)

    def file(self, path: str) -> FileSteps | None:
        """The steps of the file at ``path``, if it was started (the first, if twice)."""
        return self._by_path.get(path)

    def add(self, steps: FileSteps) -> None:
        """A file started."""
        self.files.append(steps)
        self._by_path.setdefault(steps.identity.path, steps)


def _name(record: Mapping[str, Any]) -> str:
    return paths.from_fields(str(record["path"]), record.get("path_bytes"))


def _file_steps(record: Mapping[str, Any]) -> FileSteps:
    identity = TargetIdentity(
        _name(record),
        "file",
        int(record["size"]),
        int(record["device"]),
        int(record["inode"]),
        str(record["filesystem"]),
    )
    limitations = tuple(
        Limitation(str(lim["code"]), str(lim["text"]), str(lim["remedy"]))
        for lim in record["limitations"]
    )
    digest = record.get("digest")
    journal = record.get("journal")
    return FileSteps(
        identity,
        limitations,
        None if digest is None else str(digest),
        journal=None if journal is None else JournalRecord.from_dict(journal),
    )


def read_log(path: Path) -> LoggedRun | None:
    """A log's steps, tolerating a last line cut short by the crash; ``None`` when the log
    has no complete header (the run died before writing anything)."""
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return None
    records: list[dict[str, Any]] = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            break  # torn last line: the step it began was never durable
    if not records or records[0].get("type") != "run":
        return None
    run = LoggedRun(path, records[0])
    try:
        _read_steps(run, records[1:])
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(
            f"the log of an interrupted run is damaged ({exc})",
            target=str(path),
            remedy="keep it for inspection and move it out of the runs folder to go on",
        ) from None
    return run


def _read_steps(run: LoggedRun, records: Sequence[Mapping[str, Any]]) -> None:
    for record in records:
        kind = record.get("type")
        if kind == "file":
            run.add(_file_steps(record))
            continue
        if kind == "certified":
            run.certificate = str(record["certificate"])
            continue
        steps = run.file(_name(record))
        if steps is None:
            continue
        if kind == "verified":
            steps.verified = dict(record["report"])
        elif kind == "removed":
            steps.removed = True
        elif kind == "remove-failed":
            steps.remove_error = str(record["error"])
        elif kind == "journal":
            steps.journal = JournalRecord.from_dict(record["record"])


def journal_of(folder: Path, steps: FileSteps) -> WipeJournal | None:
    """The wipe journal of a logged file (the same path and object), if it has one: its
    file in ``folder`` (written last, when there is one), else the one in the log."""
    ident = steps.identity
    journal = journal_of_file(folder, ident.path)
    if journal is None and steps.journal is not None:
        journal = LoggedJournal(journal_path(folder, steps.journal.target), steps.journal)
    if journal is None:
        return None
    target = journal.record.target
    return journal if (target.device, target.inode) == (ident.device, ident.inode) else None
