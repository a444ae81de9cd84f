"""The content of one journal: passes and keys, progress, completed passes, interruptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from expunge.core.clock import rfc3339
from expunge.shred.journal.fields import (
    InvalidField,
    digest_field,
    int_field,
    is_digest,
    keys_of,
    ranges_field,
    str_field,
    time_field,
)
from expunge.shred.journal.target import JournalTarget
from expunge.shred.patterns import PassPattern
from expunge.shred.report import ByteRange, merge_ranges

JOURNAL_SCHEMA = 3
# Schema 1 journals (before files were pinned by generation and birth time) still load;
# a file journal of schema 1 is never resumed (``store.find_journal``). Schema 2 journals
# (before the content digest was kept) load and resume, with no digest.
READABLE_SCHEMAS = (1, 2, JOURNAL_SCHEMA)
_KEYS = (
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
)


def _pass_to_dict(pattern: PassPattern) -> dict[str, Any]:
    return {
        "kind": pattern.kind,
        "pattern": pattern.pattern.hex(),
        "key": pattern.key.hex() if pattern.key is not None else None,
    }


def _pass_from_dict(data: object, where: str) -> PassPattern:
    raw = keys_of(data, where, ("kind", "pattern", "key"))
    kind, pattern, key = raw["kind"], raw["pattern"], raw["key"]
    try:
        if kind == "fixed" and key is None:
            return PassPattern.fixed(bytes.fromhex(str_field(pattern, f"{where}.pattern")))
        if kind == "random" and pattern == "":
            return PassPattern.random(bytes.fromhex(str_field(key, f"{where}.key")))
    except ValueError as exc:  # not hex, an empty pattern, a key of the wrong length
        raise InvalidField(f"{where}: {exc}") from exc
    raise InvalidField(f"{where} must be a fixed pattern without key or a random pass with a key")


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
        raw = keys_of(data, where, ("index", "ended", "unwritten"))
        return cls(
            int_field(raw["index"], f"{where}.index", low=1),
            time_field(raw["ended"], f"{where}.ended"),
            ranges_field(raw["unwritten"], f"{where}.unwritten", size),
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
        raw = keys_of(data, where, ("kind", "at", "pass", "offset", "reason"))
        kind = raw["kind"]
        if kind not in ("interrupted", "resumed"):
            raise InvalidField(f"{where}.kind must be 'interrupted' or 'resumed'")
        return cls(
            kind,
            time_field(raw["at"], f"{where}.at"),
            int_field(raw["pass"], f"{where}.pass", low=1),
            int_field(raw["offset"], f"{where}.offset"),
            str_field(raw["reason"], f"{where}.reason"),
        )


@dataclass(frozen=True)
class JournalRecord:
    """The content of one journal.

    ``pass_index`` is the 1-based pass in progress (``len(passes) + 1`` once every pass is
    done) and ``offset`` how far it is durable; ``unwritten`` are the ranges below ``offset``
    that this pass could not write. ``done`` lists the completed passes in order.

    ``digest`` is the caller's digest of the target's content, taken before the first
    write (hex, opaque here): what a resumed wipe, which finds the content partly
    overwritten, still knows of what it destroys. It is kept from schema 3 on.
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
    digest: str | None = None
    schema: int = JOURNAL_SCHEMA

    def __post_init__(self) -> None:
        if self.digest is not None and (self.schema < 3 or not is_digest(self.digest)):
            raise ValueError("a digest is lowercase hex, kept by journals of schema 3 on")
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
            "target": self.target.to_dict(pinned=self.schema >= 2),
            "method": self.method,
            "passes": [_pass_to_dict(p) for p in self.passes],
            "pass": self.pass_index,
            "offset": self.offset,
            "unwritten": [r.to_dict() for r in self.unwritten],
            "done": [d.to_dict() for d in self.done],
            "started": rfc3339(self.started),
            "updated": rfc3339(self.updated),
            "events": [e.to_dict() for e in self.events],
            **({"digest": self.digest} if self.schema >= 3 else {}),
        }

    @classmethod
    def from_dict(cls, data: object) -> JournalRecord:
        """Strict inverse of ``to_dict``; ``ValueError`` names the first bad field."""
        if not isinstance(data, dict):
            raise InvalidField("journal must be an object")
        schema = int_field(data.get("schema"), "schema")
        if schema not in READABLE_SCHEMAS:
            raise InvalidField(f"schema {schema} is not one of {list(READABLE_SCHEMAS)}")
        raw = keys_of(data, "journal", (*_KEYS, "digest") if schema >= 3 else _KEYS)
        target = JournalTarget.from_dict(raw["target"], pinned=schema >= 2)
        for name in ("passes", "done", "events"):
            if not isinstance(raw[name], list):
                raise InvalidField(f"{name} must be a list")
        return cls(
            wipe_id=str_field(raw["id"], "id"),
            target=target,
            method=str_field(raw["method"], "method"),
            passes=tuple(_pass_from_dict(p, f"passes[{i}]") for i, p in enumerate(raw["passes"])),
            pass_index=int_field(raw["pass"], "pass", low=1),
            offset=int_field(raw["offset"], "offset"),
            started=time_field(raw["started"], "started"),
            updated=time_field(raw["updated"], "updated"),
            unwritten=ranges_field(raw["unwritten"], "unwritten", target.size),
            done=tuple(
                DonePass.from_dict(d, f"done[{i}]", target.size) for i, d in enumerate(raw["done"])
            ),
            events=tuple(
                JournalEvent.from_dict(e, f"events[{i}]") for i, e in enumerate(raw["events"])
            ),
            digest=digest_field(raw.get("digest"), "digest"),
            schema=schema,
        )
