"""What an overwrite did, as frozen data: identity, passes, limitations, errors, status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from expunge.core import paths
from expunge.core.clock import rfc3339
from expunge.core.outcome import Outcome
from expunge.shred.patterns import PassPattern

WriteIo = Literal["O_DIRECT", "buffered"]
"""How a pass reached the medium: ``O_DIRECT`` (every aligned block through a descriptor
that bypasses the page cache; an unaligned head or tail of less than 4 KiB through the
page cache, synced first), or ``buffered`` (through the page cache, made durable by the
pass's ``fdatasync``)."""


@dataclass(frozen=True)
class ByteRange:
    """A half-open range ``[start, end)`` of the target."""

    start: int
    end: int

    @property
    def length(self) -> int:
        """How many bytes the range covers."""
        return self.end - self.start

    def to_dict(self) -> dict[str, int]:
        """JSON form."""
        return {"start": self.start, "end": self.end}


def merge_ranges(*groups: Iterable[ByteRange]) -> tuple[ByteRange, ...]:
    """The union of ``groups`` as sorted, disjoint, non-adjacent ranges."""
    merged: list[ByteRange] = []
    for r in sorted((r for g in groups for r in g), key=lambda r: r.start):
        if merged and merged[-1].end >= r.start:
            merged[-1] = ByteRange(merged[-1].start, max(merged[-1].end, r.end))
        else:
            merged.append(r)
    return tuple(merged)


@dataclass(frozen=True)
class Limitation:
    """Something an overwrite cannot promise on this target, and what to do instead."""

    code: str
    text: str
    remedy: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"code": self.code, "text": self.text, "remedy": self.remedy}


@dataclass(frozen=True, slots=True)
class PassResult:
    """One pass over the target.

    The pattern keeps its key only for the final pass (the verification seed) or while an
    interrupted pass may be resumed; intermediate keys are dropped by the engine. ``io``
    is how this run wrote the pass (see ``WriteIo``): ``buffered`` also when no aligned
    block was written (a file smaller than 4 KiB); ``None`` for a pass completed by an
    earlier run and rebuilt from its journal, which does not record it.

    ``index`` counts from 1, as the engine and the journal do; the JSON form counts from 0,
    as certificates number their passes.
    """

    index: int
    pattern: PassPattern
    size: int
    bytes_written: int
    started: datetime
    ended: datetime
    synced: bool
    unwritten: tuple[ByteRange, ...] = ()
    error: str | None = None
    interrupted: bool = False
    resumed_from: int = 0
    io: WriteIo | None = None

    @property
    def seconds(self) -> float:
        """Wall time of the pass, including its final sync."""
        return max((self.ended - self.started).total_seconds(), 0.0)

    @property
    def throughput(self) -> float:
        """Bytes per second written by this run of the pass."""
        return (self.bytes_written - self.resumed_from) / self.seconds if self.seconds else 0.0

    @property
    def complete(self) -> bool:
        """Every byte written and made durable, with no error."""
        return (
            self.bytes_written == self.size
            and self.synced
            and not self.unwritten
            and self.error is None
            and not self.interrupted
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the key is reported separately, by the owner of the report)."""
        return {
            "index": self.index - 1,
            "pattern": self.pattern.label,
            "kind": self.pattern.kind,
            "bytes": self.bytes_written,
            "size": self.size,
            "start": rfc3339(self.started),
            "end": rfc3339(self.ended),
            "seconds": round(self.seconds, 6),
            "throughput": round(self.throughput, 1),
            "synced": self.synced,
            "unwritten": [r.to_dict() for r in self.unwritten],
            "error": self.error,
            "interrupted": self.interrupted,
            "resumed_from": self.resumed_from,
            "io": self.io,
        }


@dataclass(frozen=True, slots=True)
class TargetIdentity:
    """What was wiped, as checked through the open descriptor."""

    path: str
    kind: Literal["file", "device"]
    size: int
    device: int
    inode: int
    filesystem: str = ""
    nlink: int = 1
    allocated: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            **paths.path_fields(self.path),
            "kind": self.kind,
            "size": self.size,
            "device": self.device,
            "inode": self.inode,
            "filesystem": self.filesystem,
            "nlink": self.nlink,
            "allocated": self.allocated,
        }


@dataclass(frozen=True, slots=True)
class WipeReport:
    """The overwrite of one target: every pass, what it could not promise, what went wrong."""

    identity: TargetIdentity
    method: str
    passes: tuple[PassResult, ...]
    planned_passes: int
    limitations: tuple[Limitation, ...] = ()
    errors: tuple[str, ...] = ()
    removed: bool = False
    interrupted: bool = False

    @property
    def final_pattern(self) -> PassPattern | None:
        """The last pass's pattern (with its key when random): what verification expects."""
        return self.passes[-1].pattern if self.passes else None

    @property
    def unwritten(self) -> tuple[ByteRange, ...]:
        """Every range some pass could not write."""
        return tuple(r for p in self.passes for r in p.unwritten)

    @property
    def status(self) -> Outcome:
        """``success`` only when every planned pass completed and nothing went wrong."""
        if self.interrupted or any(p.interrupted for p in self.passes):
            return Outcome.INTERRUPTED
        all_done = len(self.passes) == self.planned_passes and all(p.complete for p in self.passes)
        if all_done and not self.errors:
            return Outcome.SUCCESS
        if len(self.passes) == self.planned_passes and all(
            p.synced and p.error is None for p in self.passes
        ):
            # Every pass ran to the end and synced, but some ranges refused the writes.
            return Outcome.PARTIAL
        return Outcome.FAILED

    def marked_removed(self) -> WipeReport:
        """The same report after the file's name was removed."""
        return replace(self, removed=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON form; the final random pass's key is its verification seed."""
        final = self.final_pattern
        return {
            "target": self.identity.to_dict(),
            "method": self.method,
            "planned_passes": self.planned_passes,
            "passes": [p.to_dict() for p in self.passes],
            "final_pass": {
                "pattern": final.label,
                "kind": final.kind,
                "key": final.key.hex() if final.key else None,
            }
            if final
            else None,
            "limitations": [lim.to_dict() for lim in self.limitations],
            "errors": list(self.errors),
            "unwritten": [r.to_dict() for r in self.unwritten],
            "removed": self.removed,
            "status": self.status,
        }
