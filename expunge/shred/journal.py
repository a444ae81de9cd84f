"""The wipe journal: where a running wipe stands, so that an interrupted one can be finished.

One JSON file per running wipe, in a folder the caller names (``<home>/journal/``). It holds
the target's identity (re-checked before resuming: a different medium is refused), the
method and its resolved passes, the pass in progress and the offset up to which that pass
is known durable, the ranges the medium refused so far, the passes already completed, and
the interruptions and resumes.

What it claims. The offset only moves through ``WipeJournal.update``, which is meant to be
the engine's ``PassOptions.on_durable`` callback: the engine calls it only after the
``fdatasync`` that made the offset durable, at the end of each pass and, with periodic
checkpoints (``checkpoint_bytes``), every so many bytes within a pass. The journal never
claims more than was synced; after a crash or a power cut, resuming from it rewrites at
most what was written since the last checkpoint. Ranges the medium refused are recorded
with the offset that covers them, so a resumed wipe still reports them and can never turn a
partial wipe into a success.

Keys. A random pass can only be resumed by writing the same keystream, so the keys of the
random passes are kept here, in hex, until the journal is removed. That is acceptable: a
key protects nothing. It encrypts no data; it only generates the bytes that overwrite data
being destroyed, and the final pass's key is published in the certificate anyway as its
verification seed. The file is still private (mode 0600): it says what is being wiped.

Writes are atomic: a temporary file in the same folder, ``fsync``, ``rename`` over the
journal, ``fsync`` of the folder. A crash at any point leaves the previous journal or the
new one, never a torn one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from expunge.core.atomic import fsync_dir, write_atomic
from expunge.core.clock import rfc3339, utc_now
from expunge.core.errors import IntegrityError, RefusedError, TargetError
from expunge.shred.patterns import PassPattern
from expunge.shred.report import ByteRange, TargetIdentity

JOURNAL_SCHEMA = 1
SUFFIX = ".journal.json"


class _Invalid(ValueError):
    """A journal field that does not parse; turned into ``IntegrityError`` with the path."""


def _keys(data: object, where: str, required: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise _Invalid(f"{where} must be an object")
    if set(data) != set(required):
        missing, extra = set(required) - set(data), set(data) - set(required)
        raise _Invalid(f"{where}: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return data


def _int(value: object, where: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _Invalid(f"{where} must be an integer >= {low}")
    return value


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{where} must be a string")
    return value


def _time(value: object, where: str) -> datetime:
    text = _str(value, where)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _Invalid(f"{where} is not an RFC 3339 time") from exc
    if moment.tzinfo is None:
        raise _Invalid(f"{where} has no time zone")
    return moment


def _ranges(value: object, where: str, size: int) -> tuple[ByteRange, ...]:
    if not isinstance(value, list):
        raise _Invalid(f"{where} must be a list")
    out: list[ByteRange] = []
    for i, item in enumerate(value):
        raw = _keys(item, f"{where}[{i}]", ("start", "end"))
        start, end = (
            _int(raw["start"], f"{where}[{i}].start"),
            _int(raw["end"], f"{where}[{i}].end"),
        )
        if not start < end <= size or (out and start <= out[-1].end):
            raise _Invalid(f"{where}[{i}] is empty, out of bounds, unsorted or not merged")
        out.append(ByteRange(start, end))
    return tuple(out)


def merge_ranges(*groups: Sequence[ByteRange]) -> tuple[ByteRange, ...]:
    """The union of ``groups`` as sorted, disjoint, non-adjacent ranges."""
    merged: list[ByteRange] = []
    for r in sorted((r for g in groups for r in g), key=lambda r: r.start):
        if merged and merged[-1].end >= r.start:
            merged[-1] = ByteRange(merged[-1].start, max(merged[-1].end, r.end))
        else:
            merged.append(r)
    return tuple(merged)


@dataclass(frozen=True)
class JournalTarget:
    """What is being wiped, as identified through the open descriptor.

    ``device`` and ``inode`` are ``st_dev``/``st_ino`` for a file, ``st_rdev`` and the
    node's inode for a block device. ``diskseq`` (a block device's attach sequence number,
    new each time a medium appears), ``serial`` and ``boot_id`` (the kernel's
    ``/proc/sys/kernel/random/boot_id``) are for devices; the caller reads them.

    Within one boot every field must match to resume: a re-plugged drive has a new
    ``diskseq`` and is wiped again from the start, which costs time but never certifies
    bytes of one medium as written on another. Across a reboot (a power cut) diskseq and
    device numbers are counted afresh and mean nothing, and the node name may change; the
    drive is then recognised by its serial and size only, and a drive without a serial
    cannot be recognised at all.
    """

    path: str
    kind: Literal["file", "device"]
    size: int
    device: int
    inode: int
    diskseq: int | None = None
    serial: str = ""
    boot_id: str = ""

    @classmethod
    def from_identity(
        cls,
        identity: TargetIdentity,
        *,
        diskseq: int | None = None,
        serial: str = "",
        boot_id: str = "",
    ) -> JournalTarget:
        """The journal's view of a wipe report's ``TargetIdentity`` (allocation and link
        count change as the wipe goes, so they are not part of it)."""
        return cls(
            identity.path,
            identity.kind,
            identity.size,
            identity.device,
            identity.inode,
            diskseq,
            serial,
            boot_id,
        )

    def same_place(self, other: JournalTarget) -> bool:
        """Whether ``other`` names the same target: same kind and path, or the same serial."""
        if self.kind != other.kind:
            return False
        return self.path == other.path or bool(self.serial and self.serial == other.serial)

    def differences(self, current: JournalTarget) -> tuple[str, ...]:
        """What differs between this (journaled) target and ``current``, as
        ``"size 1000 (journal) != 2000 (now)"``; empty when it is the same medium."""
        names = [f.name for f in fields(self)]
        if self.kind == "device" and current.kind == "device" and self.boot_id != current.boot_id:
            if not self.serial:
                return (
                    "the drive has no serial and the system restarted: it cannot be recognised",
                )
            names = ["kind", "size", "serial"]
        return tuple(
            f"{name} {getattr(self, name)!r} (journal) != {getattr(current, name)!r} (now)"
            for name in names
            if getattr(self, name) != getattr(current, name)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: object) -> JournalTarget:
        """Strict inverse of ``to_dict``."""
        raw = _keys(data, "target", [f.name for f in fields(cls)])
        kind = raw["kind"]
        if kind not in ("file", "device"):
            raise _Invalid("target.kind must be 'file' or 'device'")
        diskseq = raw["diskseq"]
        return cls(
            _str(raw["path"], "target.path"),
            kind,
            _int(raw["size"], "target.size"),
            _int(raw["device"], "target.device"),
            _int(raw["inode"], "target.inode"),
            None if diskseq is None else _int(diskseq, "target.diskseq"),
            _str(raw["serial"], "target.serial"),
            _str(raw["boot_id"], "target.boot_id"),
        )


def _pass_to_dict(pattern: PassPattern) -> dict[str, Any]:
    return {
        "kind": pattern.kind,
        "pattern": pattern.pattern.hex(),
        "key": pattern.key.hex() if pattern.key is not None else None,
    }


def _pass_from_dict(data: object, where: str) -> PassPattern:
    raw = _keys(data, where, ("kind", "pattern", "key"))
    kind, pattern, key = raw["kind"], raw["pattern"], raw["key"]
    try:
        if kind == "fixed" and key is None:
            return PassPattern.fixed(bytes.fromhex(_str(pattern, f"{where}.pattern")))
        if kind == "random" and pattern == "":
            return PassPattern.random(bytes.fromhex(_str(key, f"{where}.key")))
    except ValueError as exc:  # not hex, an empty pattern, a key of the wrong length
        raise _Invalid(f"{where}: {exc}") from exc
    raise _Invalid(f"{where} must be a fixed pattern without key or a random pass with a key")


@dataclass(frozen=True)
class DonePass:
    """A pass written to the end and synced; ``unwritten`` are the ranges it could not write."""

    index: int
    ended: datetime
    unwritten: tuple[ByteRange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "index": self.index,
            "ended": rfc3339(self.ended),
            "unwritten": [r.to_dict() for r in self.unwritten],
        }

    @classmethod
    def from_dict(cls, data: object, where: str, size: int) -> DonePass:
        """Strict inverse of ``to_dict``."""
        raw = _keys(data, where, ("index", "ended", "unwritten"))
        return cls(
            _int(raw["index"], f"{where}.index", low=1),
            _time(raw["ended"], f"{where}.ended"),
            _ranges(raw["unwritten"], f"{where}.unwritten", size),
        )


@dataclass(frozen=True)
class JournalEvent:
    """An interruption (with its reason: ``SIGINT``, ``medium gone``, ...) or a resume, and
    where the wipe stood durably at that moment."""

    kind: Literal["interrupted", "resumed"]
    at: datetime
    pass_index: int
    offset: int
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": self.kind,
            "at": rfc3339(self.at),
            "pass": self.pass_index,
            "offset": self.offset,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: object, where: str) -> JournalEvent:
        """Strict inverse of ``to_dict``."""
        raw = _keys(data, where, ("kind", "at", "pass", "offset", "reason"))
        kind = raw["kind"]
        if kind not in ("interrupted", "resumed"):
            raise _Invalid(f"{where}.kind must be 'interrupted' or 'resumed'")
        return cls(
            kind,
            _time(raw["at"], f"{where}.at"),
            _int(raw["pass"], f"{where}.pass", low=1),
            _int(raw["offset"], f"{where}.offset"),
            _str(raw["reason"], f"{where}.reason"),
        )


@dataclass(frozen=True)
class JournalRecord:
    """The content of one journal.

    ``pass_index`` is the 1-based pass in progress (``len(passes) + 1`` once every pass is
    done) and ``offset`` how far it is durable; ``unwritten`` are the ranges below ``offset``
    that this pass could not write. ``done`` lists the completed passes in order.
    """

    wipe_id: str
    target: JournalTarget
    method: str
    passes: tuple[PassPattern, ...]
    pass_index: int
    offset: int
    started: datetime
    updated: datetime
    unwritten: tuple[ByteRange, ...] = ()
    done: tuple[DonePass, ...] = ()
    events: tuple[JournalEvent, ...] = ()
    schema: int = JOURNAL_SCHEMA

    def __post_init__(self) -> None:
        if not self.passes:
            raise ValueError("a journal needs at least one pass")
        if any(p.kind == "random" and p.key is None for p in self.passes):
            raise ValueError("a random pass without its key cannot be resumed")
        if not 1 <= self.pass_index <= len(self.passes) + 1:
            raise ValueError(f"pass {self.pass_index} is not one of {len(self.passes)} passes")
        if not 0 <= self.offset < max(self.target.size, 1) or (self.finished and self.offset):
            raise ValueError(f"offset {self.offset} is outside the pass in progress")
        if [d.index for d in self.done] != list(range(1, self.pass_index)):
            raise ValueError("the completed passes must be exactly those before the current one")
        if any(r.end > self.offset for r in self.unwritten):
            raise ValueError("unwritten ranges of the current pass must lie below its offset")

    @property
    def finished(self) -> bool:
        """Every pass written to the end and synced (verification and certificate may remain)."""
        return self.pass_index > len(self.passes)

    @property
    def resume_point(self) -> tuple[int, int]:
        """``(first_pass, first_offset)`` for ``run_passes``."""
        return self.pass_index, self.offset

    def advanced(
        self, pass_index: int, offset: int, unwritten: Sequence[ByteRange], now: datetime
    ) -> JournalRecord:
        """This record after the engine made ``[.., offset)`` of ``pass_index`` durable,
        with ``unwritten`` the ranges of that pass it could not write (found in this run;
        ranges found by earlier runs are kept)."""
        if self.finished or pass_index != self.pass_index:
            raise ValueError(
                f"durable progress reported for pass {pass_index}, "
                f"but pass {self.pass_index} is in progress"
            )
        if not self.offset <= offset <= self.target.size:
            raise ValueError(
                f"durable offset {offset} of pass {pass_index} goes backwards from "
                f"{self.offset} or past the end ({self.target.size})"
            )
        below = [ByteRange(r.start, min(r.end, offset)) for r in unwritten if r.start < offset]
        ranges = merge_ranges(self.unwritten, below)
        if offset < self.target.size:
            return replace(self, offset=offset, unwritten=ranges, updated=now)
        return replace(
            self,
            pass_index=pass_index + 1,
            offset=0,
            unwritten=(),
            done=(*self.done, DonePass(pass_index, now, ranges)),
            updated=now,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the keys of random passes in hex: see the module docstring)."""
        return {
            "schema": self.schema,
            "id": self.wipe_id,
            "target": self.target.to_dict(),
            "method": self.method,
            "passes": [_pass_to_dict(p) for p in self.passes],
            "pass": self.pass_index,
            "offset": self.offset,
            "unwritten": [r.to_dict() for r in self.unwritten],
            "done": [d.to_dict() for d in self.done],
            "started": rfc3339(self.started),
            "updated": rfc3339(self.updated),
            "events": [e.to_dict() for e in self.events],
        }

    @classmethod
    def from_dict(cls, data: object) -> JournalRecord:
        """Strict inverse of ``to_dict``; ``ValueError`` names the first bad field."""
        raw = _keys(
            data,
            "journal",
            (
                "schema",
                "id",
                "target",
                "method",
                "passes",
                "pass",
                "offset",
                "unwritten",
                "done",
                "started",
                "updated",
                "events",
            ),
        )
        if _int(raw["schema"], "schema") != JOURNAL_SCHEMA:
            raise _Invalid(f"schema {raw['schema']} is not {JOURNAL_SCHEMA}")
        target = JournalTarget.from_dict(raw["target"])
        for name in ("passes", "done", "events"):
            if not isinstance(raw[name], list):
                raise _Invalid(f"{name} must be a list")
        return cls(
            wipe_id=_str(raw["id"], "id"),
            target=target,
            method=_str(raw["method"], "method"),
            passes=tuple(_pass_from_dict(p, f"passes[{i}]") for i, p in enumerate(raw["passes"])),
            pass_index=_int(raw["pass"], "pass", low=1),
            offset=_int(raw["offset"], "offset"),
            started=_time(raw["started"], "started"),
            updated=_time(raw["updated"], "updated"),
            unwritten=_ranges(raw["unwritten"], "unwritten", target.size),
            done=tuple(
                DonePass.from_dict(d, f"done[{i}]", target.size) for i, d in enumerate(raw["done"])
            ),
            events=tuple(
                JournalEvent.from_dict(e, f"events[{i}]") for i, e in enumerate(raw["events"])
            ),
        )


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
        now: datetime | None = None,
    ) -> WipeJournal:
        """Start the journal of a new wipe of ``target`` (folder created if needed, 0700).

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
        moment = now or utc_now()
        record = JournalRecord(
            wipe_id=uuid.uuid4().hex,
            target=target,
            method=method,
            passes=tuple(passes),
            pass_index=1,
            offset=0,
            started=moment,
            updated=moment,
        )
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise TargetError(
                f"cannot create the journal folder: {exc.strerror or exc}", target=str(folder)
            ) from exc
        journal = cls(folder / f"{record.wipe_id}{SUFFIX}", record)
        journal._save(record)
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
        except ValueError as exc:  # JSON errors and _Invalid are both ValueError
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
        text = json.dumps(record.to_dict(), indent=1, sort_keys=True) + "\n"
        _write_atomic(self.path, text.encode())
        self._record = record


def _journals(folder: Path) -> list[WipeJournal]:
    try:
        names = sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise TargetError(
            f"cannot read the journal folder: {exc.strerror or exc}", target=str(folder)
        ) from exc
    return [WipeJournal.load(p) for p in names if not p.name.startswith(".")]


def _matching(folder: Path, target: JournalTarget) -> list[WipeJournal]:
    return [j for j in _journals(folder) if j.record.target.same_place(target)]


def find_journal(folder: Path, target: JournalTarget) -> WipeJournal | None:
    """The journal of an interrupted wipe of ``target`` in ``folder``, or ``None``.

    A journal is found by the target's path (or a device's serial); it is returned only if
    the medium is the same one, field by field. Otherwise ``RefusedError`` names what
    differs: resuming would certify bytes of another medium as overwritten.
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
    differences = journal.record.target.differences(target)
    if differences:
        raise RefusedError(
            "not the medium the interrupted wipe was writing: " + "; ".join(differences),
            target=target.path,
            remedy=f"wipe it from the start (remove {journal.path} to drop the old journal)",
        )
    return journal
