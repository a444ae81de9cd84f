"""Where a document lives or lived, and what closed each place: its locations, their
destruction (a ``destroy`` event and its certificate) or write-off, and its seal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from expunge.core import paths
from expunge.ledger.events import format_time

LocationKind = Literal["original", "sealed", "copy"]
LocationStatus = Literal["outstanding", "destroyed", "written-off"]


@dataclass(frozen=True, slots=True)
class Destruction:
    """A ``destroy`` event, as it concerns a location or a document."""

    seq: int
    time: datetime
    method: str
    certificate_id: str
    certificate_digest: str
    key_erased: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "seq": self.seq,
            "time": format_time(self.time),
            "method": self.method,
            "certificate_id": self.certificate_id,
            "certificate_digest": self.certificate_digest,
            "key_erased": self.key_erased,
        }


@dataclass(frozen=True, slots=True)
class WrittenOff:
    """A ``write-off`` event, as it concerns the copy it closed."""

    seq: int
    time: datetime
    reason: str
    witness: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "seq": self.seq,
            "time": format_time(self.time),
            "reason": self.reason,
            "witness": self.witness,
        }


@dataclass(frozen=True, slots=True)
class Location:
    """One place the document's content lives (or lived): a path or a medium."""

    kind: LocationKind
    seq: int
    path: str | None
    medium: str | None
    ciphertext: bool
    destroyed_by: Destruction | None = None
    written_off: WrittenOff | None = None
    host: str | None = None
    """The host of the station that recorded it: a path means a file on that host
    (``None``: recorded by a v1 entry, before entries named their station)."""

    def here(self, host: str | None) -> bool:
        """Whether a path location is on ``host`` (``None``: any host, one station's
        ledger). Media are not bound to a host."""
        return host is None or self.host is None or self.host == host

    @property
    def outstanding(self) -> bool:
        """True while no destruction covers this location and it was not written off."""
        return self.destroyed_by is None and self.written_off is None

    @property
    def status(self) -> LocationStatus:
        """``outstanding``, ``destroyed`` or ``written-off``."""
        if self.destroyed_by is not None:
            return "destroyed"
        return "outstanding" if self.written_off is None else "written-off"

    def closed(
        self, *, destroyed_by: Destruction | None = None, written_off: WrittenOff | None = None
    ) -> Location:
        """This location destroyed or written off (``dataclasses.replace`` is several
        times slower, and an audit closes one location per destroy event)."""
        return Location(
            self.kind,
            self.seq,
            self.path,
            self.medium,
            self.ciphertext,
            destroyed_by or self.destroyed_by,
            written_off or self.written_off,
            self.host,
        )

    def describe(self) -> str:
        """The path (readable, see ``core.paths``), or ``medium TOKEN``."""
        return paths.readable(self.path) if self.path is not None else f"medium {self.medium}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": self.kind,
            "seq": self.seq,
            **(paths.path_fields(self.path) if self.path is not None else {"path": None}),
            "medium": self.medium,
            "ciphertext": self.ciphertext,
            "status": self.status,
            "destroyed_by": self.destroyed_by.to_dict() if self.destroyed_by else None,
            "written_off": self.written_off.to_dict() if self.written_off else None,
            "host": self.host,
        }


@dataclass(frozen=True, slots=True)
class SealState:
    """The document is sealed: encrypted at ``sealed_path`` under key ``key_id``."""

    seq: int
    sealed_path: str
    key_id: str
    at_registration: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "seq": self.seq,
            "sealed_path": self.sealed_path,
            "key_id": self.key_id,
            "at_registration": self.at_registration,
        }
