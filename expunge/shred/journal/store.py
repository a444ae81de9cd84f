"""Journal files: created, updated and removed atomically, found again by target.

A journal is named from the place it is about: ``p-<hash of the kind and path>`` and, for a
drive with a serial, an alias file ``s-<hash of the serial>`` naming it (a drive may come
back under another node). Finding the journal of a target is then one or two lookups, not a
read of every journal in the folder: a tree of 10,000 files is journaled in linear time.
Journals named otherwise (by older versions: ``<wipe id>.journal.json``) are still found.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Literal

from expunge.core.atomic import fsync_dir, write_atomic
from expunge.core.clock import utc_now
from expunge.core.errors import IntegrityError, RefusedError, TargetError
from expunge.core.sha256 import sha256_hex
from expunge.shred.journal.pin import content_mismatch
from expunge.shred.journal.record import JournalEvent, JournalRecord
from expunge.shred.journal.target import JournalTarget
from expunge.shred.patterns import PassPattern
from expunge.shred.report import ByteRange

SUFFIX = ".journal.json"
ALIAS = ".serial"
# Per folder, the journals of older versions (named by wipe id): read once per process.
_LEGACY: dict[Path, list[Path]] = {}


def _key(kind: str, value: str) -> str:
    return sha256_hex(f"{kind}\0".encode() + os.fsencode(value))[:40]


def journal_path(folder: Path, target: JournalTarget) -> Path:
    """Where the journal of ``target`` is kept."""
    return folder / f"p-{_key(target.kind, target.path)}{SUFFIX}"


def _alias_path(folder: Path, serial: str) -> Path:
    return folder / f"s-{_key('serial', serial)}{ALIAS}"


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp file, fsync, rename, fsync of the folder."""
    try:
        write_atomic(path, data, 0o600)
    except OSError as exc:
        raise TargetError(
            f"cannot write the wipe journal: {exc.strerror or exc}",
            target=str(path),
            remedy="free space or fix the permissions of the journal folder",
        ) from exc


class WipeJournal:
    """One journal file and its current record; every change is written atomically first.

    Not thread-safe: one wipe, one writer (the thread running the engine).
    """

    def __init__(self, path: Path, record: JournalRecord) -> None:
        self.path = path
        self._record = record

    @property
    def record(self) -> JournalRecord:
        """What the journal holds now (exactly what is on disk)."""
        return self._record

    @classmethod
    def create(
        cls,
        folder: Path,
        target: JournalTarget,
        method: str,
        passes: Sequence[PassPattern],
        *,
        digest: str | None = None,
        now: datetime | None = None,
    ) -> WipeJournal:
        """Start the journal of a new wipe of ``target`` (folder created if needed, 0700),
        with ``digest``, the caller's digest of the content read before the first write.

        Refused when a journal for the same target exists: that wipe is running or was
        interrupted, and must be resumed or its journal removed first.
        """
        existing = _matching(folder, target)
        if existing:
            raise RefusedError(
                "a wipe of this target is already journaled (running, or interrupted)",
                target=target.path,
                remedy=f"resume it with --resume, or remove {existing[0].path} to start over",
            )
        record = new_record(target, method, passes, digest=digest, now=now)
        make_folder(folder)
        journal = cls(journal_path(folder, target), record)
        journal.persist(record)
        if target.serial:
            _write_atomic(_alias_path(folder, target.serial), journal.path.name.encode())
        return journal

    @classmethod
    def load(cls, path: Path) -> WipeJournal:
        """Read a journal; ``IntegrityError`` if it is not one this version wrote."""
        try:
            data = json.loads(path.read_bytes())
            return cls(path, JournalRecord.from_dict(data))
        except OSError as exc:
            raise TargetError(
                f"cannot read the wipe journal: {exc.strerror or exc}", target=str(path)
            ) from exc
        except ValueError as exc:  # JSON errors and InvalidField are both ValueError
            raise IntegrityError(
                f"invalid wipe journal: {exc}",
                target=str(path),
                remedy="remove it and wipe the target again from the start",
            ) from exc

    def update(self, pass_index: int, offset: int, unwritten: Sequence[ByteRange]) -> None:
        """Record that ``[.., offset)`` of pass ``pass_index`` is durable, except
        ``unwritten``. Meant as ``PassOptions.on_durable``: call it only after the
        ``fdatasync`` that made the bytes durable, never before."""
        self._save(self._record.advanced(pass_index, offset, unwritten, utc_now()))

    def record_interruption(self, reason: str, *, now: datetime | None = None) -> None:
        """Note that the wipe stopped (a signal, a gone medium) where it durably stands."""
        self._event("interrupted", reason, now)

    def record_resume(self, *, now: datetime | None = None) -> None:
        """Note that the wipe resumes from where it durably stands."""
        self._event("resumed", "", now)

    def complete(self) -> None:
        """The wipe is over (its outcome is in its report): remove the journal, durably."""
        try:
            serial = self._record.target.serial
            if serial:
                alias = _alias_path(self.path.parent, serial)
                with contextlib.suppress(OSError):
                    if alias.read_text() == self.path.name:
                        alias.unlink()
            self.path.unlink(missing_ok=True)
            fsync_dir(self.path.parent)
        except OSError as exc:
            raise TargetError(
                f"cannot remove the wipe journal: {exc.strerror or exc}", target=str(self.path)
            ) from exc

    def _event(
        self, kind: Literal["interrupted", "resumed"], reason: str, now: datetime | None
    ) -> None:
        moment = now or utc_now()
        record = self._record
        event = JournalEvent(kind, moment, record.pass_index, record.offset, reason)
        self._save(replace(record, events=(*record.events, event), updated=moment))

    def _save(self, record: JournalRecord) -> None:
        self.persist(record)
        self._record = record

    def persist(self, record: JournalRecord) -> None:
        """Make ``record`` durable: the journal file, replaced atomically. A subclass may
        keep it elsewhere (``destroy.logged_journal``: the run's log)."""
        # Compact: with an indent, ``json`` falls back to its pure-Python encoder, which
        # cost more than the rest of a small file's journal.
        text = json.dumps(record.to_dict(), sort_keys=True, separators=(",", ":")) + "\n"
        _write_atomic(self.path, text.encode())


def new_record(
    target: JournalTarget,
    method: str,
    passes: Sequence[PassPattern],
    *,
    digest: str | None = None,
    now: datetime | None = None,
) -> JournalRecord:
    """The record of a wipe of ``target`` about to begin: at pass 1, offset 0."""
    moment = now or utc_now()
    return JournalRecord(
        wipe_id=uuid.uuid4().hex,
        target=target,
        method=method,
        passes=tuple(passes),
        pass_index=1,
        offset=0,
        started=moment,
        updated=moment,
        digest=digest,
    )


def make_folder(folder: Path) -> None:
    """Create the journal folder (0700) if it is not there."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise TargetError(
            f"cannot create the journal folder: {exc.strerror or exc}", target=str(folder)
        ) from exc


def _legacy(folder: Path) -> list[Path]:
    if folder not in _LEGACY:
        try:
            names = sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX))
        except FileNotFoundError:
            names = []
        except OSError as exc:
            raise TargetError(
                f"cannot read the journal folder: {exc.strerror or exc}", target=str(folder)
            ) from exc
        _LEGACY[folder] = [p for p in names if not p.name.startswith((".", "p-"))]
    return _LEGACY[folder]


def _load_if_there(path: Path) -> WipeJournal | None:
    try:
        return WipeJournal.load(path)
    except TargetError:
        if path.exists():
            raise
        return None


def _matching(folder: Path, target: JournalTarget) -> list[WipeJournal]:
    found: dict[Path, WipeJournal] = {}
    candidates = [journal_path(folder, target)]
    if target.serial:
        with contextlib.suppress(OSError):
            candidates.append(folder / _alias_path(folder, target.serial).read_text())
    for path in [*candidates, *_legacy(folder)]:
        journal = _load_if_there(path) if path not in found else None
        if journal is not None and journal.record.target.same_place(target):
            found[path] = journal
    return list(found.values())


def journal_of_file(folder: Path, path: str) -> WipeJournal | None:
    """The journal kept for the file at ``path``, whatever its state (recovery's lookup)."""
    named = folder / f"p-{_key('file', path)}{SUFFIX}"
    for candidate in [named, *_legacy(folder)]:
        journal = _load_if_there(candidate)
        if journal is not None and journal.record.target.path == path:
            return journal
    return None


def find_journal(
    folder: Path, target: JournalTarget, *, fd: int | None = None
) -> WipeJournal | None:
    """The journal of an interrupted wipe of ``target`` in ``folder``, or ``None``.

    A journal is found by the target's path (or a device's serial); it is returned only if
    the medium is the same one, field by field (a file's generation and birth time
    included). Otherwise ``RefusedError`` names what differs: resuming would certify bytes
    of another medium as overwritten. With ``fd`` (the target, open), a file must also
    hold what the journal's passes durably wrote (``pin.content_mismatch``). A file
    journal of schema 1 pins nothing but the inode number and is never resumed.
    """
    found = _matching(folder, target)
    if not found:
        return None
    if len(found) > 1:
        raise IntegrityError(
            f"{len(found)} journals claim this target",
            target=target.path,
            remedy=f"keep one of {', '.join(str(j.path) for j in found)}",
        )
    journal = found[0]
    start_over = f"wipe it from the start (remove {journal.path} to drop the old journal)"
    differences = journal.record.target.differences(target)
    if journal.record.schema < 2 and target.kind == "file":
        differences = (
            "the journal was written by an older expunge that did not pin the file "
            "(generation, birth time): it cannot be told from a new file at that place",
        )
    if not differences and fd is not None and target.kind == "file":
        mismatch = content_mismatch(fd, journal.record)
        differences = (mismatch,) if mismatch else ()
    if differences:
        raise RefusedError(
            "not the medium the interrupted wipe was writing: " + "; ".join(differences),
            target=target.path,
            remedy=start_over,
        )
    return journal
