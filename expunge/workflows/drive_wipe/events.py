"""One event model for every drive job, from the moment a drive is seen to its certificate.

A drive job says, in this order: ``attached`` (a station saw it; ``ignored`` when the
station's filters leave it alone), ``confirm-needed`` (waiting for its identity token),
``started`` or ``refused`` (with the reasons: nothing is written), then ``progress`` (at
most once a second), ``pass-done`` and ``verifying`` as the work goes, and always one
``finished`` (outcome, certificate path and id). ``detached`` says the medium went away.
A station begins with ``watching`` (its filters, identity, and the drives it leaves
alone). Events are frozen values; a sink receives them as they happen, from the threads
doing the work, and must be thread-safe.

A ``pass_index`` counts from 1, as the engine and the journal do; the JSON form (``pass``)
counts from 0, as certificates number their passes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from expunge.core.clock import rfc3339
from expunge.drives import Drive, Place, Reason, WatchFilter
from expunge.workflows.drive_wipe.model import DriveWipe


@dataclass(frozen=True)
class Event(ABC):
    """Something that happened at a station or to a drive job, at ``at`` (UTC)."""

    kind: ClassVar[str]
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``event`` (the kind) and ``time`` first, then the event's own fields."""
        return {"event": self.kind, "time": rfc3339(self.at), **self.subject(), **self.fields()}

    def subject(self) -> dict[str, Any]:
        """Whom the event is about (a drive event: its node); the station itself: nothing."""
        return {}

    @abstractmethod
    def fields(self) -> dict[str, Any]:
        """The event's own fields, JSON-ready."""


@dataclass(frozen=True)
class StationIdentity:
    """Who signs at this station: shown in its header, recorded in every certificate."""

    host: str
    operator: str
    key_id: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"host": self.host, "operator": self.operator, "key_id": self.key_id}


@dataclass(frozen=True)
class Watching(Event):
    """A station began listening: what it takes, how it wipes, what it leaves alone."""

    kind: ClassVar[str] = "watching"
    station: StationIdentity
    filters: WatchFilter
    method: str
    verify: str
    automatic: bool
    present: tuple[tuple[Drive, Place], ...]

    def left_alone(self) -> tuple[tuple[Drive, Place], ...]:
        """Drives present at the start that the filters would take: they are not touched."""
        return tuple((d, p) for d, p in self.present if self.filters.accepts(d, p))

    def fields(self) -> dict[str, Any]:
        """The station, its filters and the drives present (never touched)."""
        return {
            "station": self.station.to_dict(),
            "filters": self.filters.to_dict(),
            "method": self.method,
            "verify": self.verify,
            "automatic": self.automatic,
            "present": [
                {**d.to_dict(), "place": p.to_dict(), "matches_filters": self.filters.accepts(d, p)}
                for d, p in self.present
            ],
        }


@dataclass(frozen=True)
class DriveEvent(Event):
    """An event of one drive, named by its device node."""

    node: str

    def subject(self) -> dict[str, Any]:
        """The drive's node."""
        return {"node": self.node}


@dataclass(frozen=True)
class Attached(DriveEvent):
    """A station saw a new medium that passes its filters."""

    kind: ClassVar[str] = "attached"
    drive: Drive
    place: Place

    def fields(self) -> dict[str, Any]:
        """The drive's facts and where it sits."""
        return {"drive": self.drive.to_dict(), "place": self.place.to_dict()}


@dataclass(frozen=True)
class Ignored(DriveEvent):
    """A station saw a new medium and leaves it alone (its filters say why)."""

    kind: ClassVar[str] = "ignored"
    drive: Drive
    place: Place
    reason: str

    def fields(self) -> dict[str, Any]:
        """The drive, where it sits, and why it is not taken."""
        return {"drive": self.drive.to_dict(), "place": self.place.to_dict(), "reason": self.reason}


@dataclass(frozen=True)
class ConfirmNeeded(DriveEvent):
    """The drive waits for the operator to type its identity token."""

    kind: ClassVar[str] = "confirm-needed"
    token: str
    tries_left: int

    def fields(self) -> dict[str, Any]:
        """The token expected and how many tries remain."""
        return {"identity_token": self.token, "tries_left": self.tries_left}


@dataclass(frozen=True)
class Refused(DriveEvent):
    """Nothing will be written to the drive: the interlocks' reasons, or why not."""

    kind: ClassVar[str] = "refused"
    token: str
    error: str
    reasons: tuple[Reason, ...] = ()

    def fields(self) -> dict[str, Any]:
        """The one-line error and every interlock that applied."""
        return {
            "identity_token": self.token,
            "error": self.error,
            "reasons": [r.to_dict() for r in self.reasons],
        }


@dataclass(frozen=True)
class Started(DriveEvent):
    """The drive is open and the first pass begins."""

    kind: ClassVar[str] = "started"
    drive: Drive
    token: str
    method: str
    passes: int

    def fields(self) -> dict[str, Any]:
        """The drive, the token confirmed, and the method with its number of passes."""
        return {
            "identity_token": self.token,
            "method": self.method,
            "passes": self.passes,
            "size": self.drive.size,
            "drive": self.drive.to_dict(),
        }


@dataclass(frozen=True)
class Progress(DriveEvent):
    """How far the current pass (or read-back) is, and the time left for the whole job.

    ``phase`` is ``writing`` or ``verifying``; ``done``/``total`` count the bytes of the
    current pass or read-back; ``eta`` (seconds, None until a rate is known) covers every
    pass and read-back still to come, and does not rise within a pass.
    """

    kind: ClassVar[str] = "progress"
    phase: str
    pass_index: int
    passes: int
    pattern: str | None
    done: int
    total: int
    rate: float | None
    eta: float | None

    def fields(self) -> dict[str, Any]:
        """Bytes, pass i of n with its pattern, throughput and time left."""
        return {
            "phase": self.phase,
            "pass": self.pass_index - 1,
            "passes": self.passes,
            "pattern": self.pattern,
            "bytes_done": self.done,
            "bytes_total": self.total,
            "bytes_per_second": round(self.rate) if self.rate is not None else None,
            "eta_seconds": round(self.eta, 1) if self.eta is not None else None,
        }


@dataclass(frozen=True)
class PassDone(DriveEvent):
    """A pass completed and was synced to the medium."""

    kind: ClassVar[str] = "pass-done"
    pass_index: int
    passes: int
    pattern: str
    written: int
    seconds: float

    def fields(self) -> dict[str, Any]:
        """Which pass, its pattern, bytes written and time taken."""
        return {
            "pass": self.pass_index - 1,
            "passes": self.passes,
            "pattern": self.pattern,
            "bytes": self.written,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Verifying(DriveEvent):
    """The drive is read back against pass ``pass_index``."""

    kind: ClassVar[str] = "verifying"
    pass_index: int
    mode: str

    def fields(self) -> dict[str, Any]:
        """The pass read back and the sampling mode."""
        return {"pass": self.pass_index - 1, "mode": self.mode}


@dataclass(frozen=True)
class Finished(DriveEvent):
    """The drive's job ended: its result as ``drive wipe`` reports it, with the certificate.

    Its JSON form is the drive's result (as ``drive wipe --json`` gave it before events)
    with ``event`` and ``time`` added.
    """

    kind: ClassVar[str] = "finished"
    result: DriveWipe

    def fields(self) -> dict[str, Any]:
        """The result's JSON form (with the certificate's path and id)."""
        return self.result.to_dict()


@dataclass(frozen=True)
class Detached(DriveEvent):
    """The drive's medium went away (unplugged, ejected, a loop device detached)."""

    kind: ClassVar[str] = "detached"

    def fields(self) -> dict[str, Any]:
        """Nothing beyond the node."""
        return {}


class EventSink(Protocol):
    """Receives events as they happen, from any thread: implementations are thread-safe."""

    def emit(self, event: Event) -> None:
        """Take one event."""


class NullEvents:
    """A sink that drops every event: the default for library callers."""

    def emit(self, event: Event) -> None:
        """Drop ``event``."""


NULL_EVENTS: EventSink = NullEvents()
