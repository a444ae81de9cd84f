"""Entries: an event with its time, actor and place in the chain.

An entry's *record* is ``{"time", "actor", "event"}``; its canonical bytes (RFC 8785) are
what the chain hashes, together with the ledger id, the seq and the previous hash (see
``chain.entry_hash``). A ``RawEntry`` holds those bytes exactly as stored, so that
verification hashes what is on disk, even when it no longer parses; an ``Entry`` is the
parsed form everything else works with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from expunge.core.canonical import canonical_bytes, strict_loads
from expunge.core.errors import ExpungeError, IntegrityError, UsageError
from expunge.core.strictjson import Fields
from expunge.ledger.events import Event, event_from_dict, format_time, parse_time, utc_second

HASH_SIZE = 32
_RECORD_FIELDS = frozenset({"time", "actor", "event"})
_ENTRY_FIELDS = frozenset({"ledger_id", "seq", "time", "actor", "event", "prev_hash", "hash"})
_HEAD_FIELDS = frozenset({"ledger_id", "seq", "hash"})


def _hex_hash(text: str, where: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != HASH_SIZE or value.hex() != text:
        raise IntegrityError(f"{where} must be {2 * HASH_SIZE} lowercase hex digits")
    return value


@dataclass(frozen=True, slots=True)
class Record:
    """What one entry says: an event, when (UTC, whole seconds) and by whom."""

    time: datetime
    actor: str
    event: Event

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", utc_second(self.time, "entry time"))
        if not self.actor or "\x00" in self.actor:
            raise UsageError("the actor of an entry must be a non-empty name", target="actor")

    def to_dict(self) -> dict[str, Any]:
        """JSON form; its canonical bytes are what the chain hashes."""
        return {"time": format_time(self.time), "actor": self.actor, "event": self.event.to_dict()}

    def canonical(self) -> bytes:
        """RFC 8785 bytes of ``to_dict()``."""
        return canonical_bytes(self.to_dict())

    @classmethod
    def from_dict(cls, data: object, where: str = "record") -> Record:
        """Strictly read the JSON form."""
        f = Fields(data, where, _RECORD_FIELDS)
        time = parse_time(f.text("time"), f"{where}.time")
        event = event_from_dict(f.obj("event"), f"{where}.event")
        try:
            return cls(time, f.text("actor"), event)
        except UsageError as exc:
            raise IntegrityError(f"{where}: {exc.message}") from exc


@dataclass(frozen=True, slots=True)
class Head:
    """The last entry of a ledger: its seq and hash.

    A head recorded elsewhere (in a certificate, in an exported checkpoint) is an *anchor*:
    the ledger must still contain that entry with that hash.
    """

    ledger_id: str
    seq: int
    hash: bytes

    def to_dict(self) -> dict[str, Any]:
        """JSON form, hash in hex."""
        return {"ledger_id": self.ledger_id, "seq": self.seq, "hash": self.hash.hex()}

    @classmethod
    def from_dict(cls, data: object, where: str = "anchor") -> Head:
        """Strictly read the JSON form."""
        f = Fields(data, where, _HEAD_FIELDS)
        seq = f.integer("seq")
        if seq < 1:
            raise IntegrityError(f"{where}.seq must be at least 1")
        return cls(f.text("ledger_id"), seq, _hex_hash(f.text("hash"), f"{where}.hash"))


@dataclass(frozen=True, slots=True)
class Entry:
    """One parsed ledger entry."""

    ledger_id: str
    seq: int
    record: Record
    prev_hash: bytes
    hash: bytes

    @property
    def time(self) -> datetime:
        """When the entry was appended (UTC)."""
        return self.record.time

    @property
    def actor(self) -> str:
        """Who appended it."""
        return self.record.actor

    @property
    def event(self) -> Event:
        """What happened."""
        return self.record.event

    @property
    def head(self) -> Head:
        """This entry as a head (for anchors and checkpoints)."""
        return Head(self.ledger_id, self.seq, self.hash)

    def raw(self) -> RawEntry:
        """The stored form: the record as canonical bytes."""
        return RawEntry(
            self.ledger_id, self.seq, self.record.canonical(), self.prev_hash, self.hash
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form, one line of ``ledger export``: the record plus its chain fields."""
        return {
            "ledger_id": self.ledger_id,
            "seq": self.seq,
            **self.record.to_dict(),
            "prev_hash": self.prev_hash.hex(),
            "hash": self.hash.hex(),
        }

    @classmethod
    def from_dict(cls, data: object, where: str = "entry") -> Entry:
        """Strictly read the JSON form (an exported line)."""
        f = Fields(data, where, _ENTRY_FIELDS)
        record = Record.from_dict(
            {"time": f.text("time"), "actor": f.text("actor"), "event": f.obj("event")}, where
        )
        return cls(
            ledger_id=f.text("ledger_id"),
            seq=f.integer("seq"),
            record=record,
            prev_hash=_hex_hash(f.text("prev_hash"), f"{where}.prev_hash"),
            hash=_hex_hash(f.text("hash"), f"{where}.hash"),
        )


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One entry as stored: the record's bytes exactly as they were hashed."""

    ledger_id: str
    seq: int
    record: bytes
    prev_hash: bytes
    hash: bytes

    def parse(self) -> Entry:
        """The parsed entry; an ``IntegrityError`` naming the seq when the record is bad."""
        where = f"ledger entry {self.seq}"
        try:
            record = Record.from_dict(strict_loads(self.record, what=where), where)
        except ExpungeError as exc:
            raise IntegrityError(exc.message) from exc
        return Entry(self.ledger_id, self.seq, record, self.prev_hash, self.hash)
