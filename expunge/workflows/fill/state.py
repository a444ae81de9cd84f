"""The fill journal: where a free-space fill stands, so that an interrupted one resumes.

One JSON file per filesystem being filled, ``<home>/journal/<fill_id>.fill.json`` (the
wipe journal's ``.journal.json`` files are another format), written atomically. It holds
the filesystem's identity (mount point, device, ``f_fsid``: a different filesystem at the
same place is refused), the fill folder's name and inode, the method's resolved passes
(with the keys of random ones: resuming rewrites the same streams; a key protects
nothing, as in the wipe journal), the files written so far with the size known durable,
whether the last one was cut short by a stop (and is continued), whether the filesystem
is full, the pass and file in progress, the directory being refilled with names, whether the
files were being removed, and the interruptions and resumes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from expunge.core.atomic import write_atomic
from expunge.core.clock import rfc3339, utc_now
from expunge.core.errors import IntegrityError, RefusedError, TargetError, UsageError
from expunge.shred.patterns import PassPattern
from expunge.workflows.fill.target import FillTarget

SUFFIX = ".fill.json"
VERSION = 1


@dataclass(frozen=True)
class FillFile:
    """One fill file: its name in the fill folder and the bytes known durable in it."""

    name: str
    size: int


@dataclass(frozen=True)
class FillRecord:
    """What the journal holds (see the module docstring)."""

    fill_id: str
    mountpoint: str
    device: int
    fsid: int
    folder: str
    folder_inode: int
    method: str
    passes: tuple[PassPattern, ...]
    started: datetime
    pass_index: int = 1
    file_index: int = 0
    files: tuple[FillFile, ...] = ()
    last_open: bool = False
    full: bool = False
    names_done: bool = False
    names_dir: str | None = None
    names_refilled: int = 0
    removing: bool = False
    passes_done: tuple[datetime, ...] = ()
    events: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        """The journal file's bytes."""
        data = asdict(self)
        data["version"] = VERSION
        data["passes"] = [
            {"kind": p.kind, "pattern": p.pattern.hex(), "key": p.key.hex() if p.key else None}
            for p in self.passes
        ]
        data["started"] = rfc3339(self.started)
        data["passes_done"] = [rfc3339(t) for t in self.passes_done]
        return json.dumps(data, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes, where: str) -> FillRecord:
        """Read a journal file; a damaged one is an integrity error naming the file."""
        try:
            data: dict[str, Any] = json.loads(raw)
            if data["version"] != VERSION:
                raise ValueError(f"version {data['version']}")
            return cls(
                fill_id=str(data["fill_id"]),
                mountpoint=str(data["mountpoint"]),
                device=int(data["device"]),
                fsid=int(data["fsid"]),
                folder=str(data["folder"]),
                folder_inode=int(data["folder_inode"]),
                method=str(data["method"]),
                passes=tuple(
                    PassPattern(p["kind"], bytes.fromhex(p["pattern"]), _key(p["key"]))
                    for p in data["passes"]
                ),
                started=datetime.fromisoformat(data["started"]),
                pass_index=int(data["pass_index"]),
                file_index=int(data["file_index"]),
                files=tuple(FillFile(str(f["name"]), int(f["size"])) for f in data["files"]),
                last_open=bool(data["last_open"]),
                full=bool(data["full"]),
                names_done=bool(data["names_done"]),
                names_dir=data["names_dir"],
                names_refilled=int(data["names_refilled"]),
                removing=bool(data["removing"]),
                passes_done=tuple(datetime.fromisoformat(t) for t in data["passes_done"]),
                events=tuple(str(e) for e in data["events"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(
                f"the fill journal is damaged ({exc})",
                target=where,
                remedy="remove it and the .expunge-fill folder it names, then fill again",
            ) from None

    def same_filesystem(self, target: FillTarget) -> bool:
        """Whether ``target`` is the filesystem journaled: by ``f_fsid`` where the driver
        gives one (ext4 derives it from the UUID, stable across mounts), else by device."""
        if self.fsid:
            return self.fsid == target.fsid
        return self.device == target.device


def _key(text: str | None) -> bytes | None:
    return bytes.fromhex(text) if text else None


@dataclass
class FillJournal:
    """One fill's journal file and its current record; each change is written first."""

    path: Path
    record: FillRecord = field(repr=False)

    def update(self, **changes: Any) -> None:
        """Change the record and write it atomically."""
        record = replace(self.record, **changes)
        try:
            write_atomic(self.path, record.to_json(), 0o600)
        except OSError as exc:
            raise TargetError(
                f"cannot write the fill journal: {exc.strerror}",
                target=str(self.path),
                remedy="free space in expunge's home or fix its permissions",
            ) from exc
        self.record = record

    def note(self, event: str) -> None:
        """Record an interruption or a resume, with the time."""
        self.update(events=(*self.record.events, f"{event} ({rfc3339(utc_now())})"))

    def complete(self) -> None:
        """The fill is certified: nothing is left to resume."""
        self.path.unlink(missing_ok=True)


def pending_fill(folder: Path, target: FillTarget) -> FillJournal | None:
    """The journal of an unfinished fill of ``target``'s filesystem, if any."""
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        record = FillRecord.from_json(path.read_bytes(), str(path))
        if record.mountpoint == target.mountpoint or record.same_filesystem(target):
            return FillJournal(path, record)
    return None


def start_or_resume(
    folder: Path,
    target: FillTarget,
    method: str,
    passes: tuple[PassPattern, ...],
    *,
    resume: bool,
    fill_folder: tuple[str, int] | None = None,
) -> tuple[FillJournal, bool]:
    """The journal to fill with, and whether it is resumed.

    A pending fill of this filesystem is refused without ``resume`` (its files hold the
    free space until it is finished); with it, the filesystem and method must be the
    ones journaled. ``fill_folder`` names the new fill's folder (name, inode).
    """
    pending = pending_fill(folder, target)
    if pending is not None and not resume:
        raise RefusedError(
            f"an interrupted fill of this filesystem is pending; its files in "
            f"{pending.record.folder} hold the free space",
            target=target.mountpoint,
            remedy=f"finish it with 'expunge fill --resume {target.mountpoint}'",
        )
    if pending is None:
        if resume:
            raise UsageError(
                "no interrupted fill of this filesystem to resume",
                target=target.mountpoint,
                remedy="run it without --resume",
            )
        assert fill_folder is not None
        fill_id = uuid.uuid4().hex
        record = FillRecord(
            fill_id, target.mountpoint, target.device, target.fsid, fill_folder[0],
            fill_folder[1], method, passes, utc_now(),
        )  # fmt: skip
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        journal = FillJournal(folder / f"{fill_id}{SUFFIX}", record)
        journal.update()
        return journal, False
    record = pending.record
    if not record.same_filesystem(target):
        raise RefusedError(
            "the filesystem mounted here is not the one the pending fill was filling",
            target=target.mountpoint,
            remedy=f"mount that filesystem again, or remove {pending.path} and its fill folder",
        )
    if record.method != method:
        raise UsageError(
            f"the interrupted fill used method {record.method}, not {method}",
            target=target.mountpoint,
            remedy=f"resume with -m {record.method} --resume",
        )
    return pending, True
