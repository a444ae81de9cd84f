"""Entries: an event with its time, actor, station and place in the chain.

An entry's *record* is what the chain hashes (its canonical bytes, RFC 8785, together with
the ledger id, the seq and the previous hash; see ``chain.entry_hash``). Two record formats
exist:

- **v1** (ledgers written before entries were signed): ``{"time", "actor", "event"}``;
- **v2**: ``{"version": 2, "time", "actor", "station": {"keyid", "host"}, "event",
  "signature"}``, and ``"origin": {"ledger_id", "seq", "hash"}`` on an entry copied from
  another ledger by ``ledger migrate`` (absent otherwise). ``station`` names the station
  that appended the entry (the keyid of its Ed25519 key, as in certificates, and its host
  name); ``signature`` is ``null`` except on
  the last entry of each append transaction, where it is ``{"from_seq", "sig"}``: the
  station's signature over entries ``from_seq`` .. this one (see ``signing``).

A ``RawEntry`` holds the record bytes exactly as stored, so that verification hashes what
is on disk, even when it no longer parses; an ``Entry`` is the parsed form everything else
works with.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from expunge.core.canonical import canonical_bytes, strict_loads
from expunge.core.errors import ExpungeError, IntegrityError, UsageError
from expunge.core.strictjson import Fields
from expunge.ledger.events import (
    MAX_SAFE_INT,
    Event,
    event_from_dict,
    format_time,
    parse_time,
    utc_second,
)

HASH_SIZE = 32
RECORD_VERSION = 2
_KEYID = re.compile(r"[0-9a-f]{64}")
_SIG = re.compile(r"[0-9a-f]{128}")
_RECORD_FIELDS = frozenset({"time", "actor", "event"})
_V2_FIELDS = _RECORD_FIELDS | {"version", "station", "signature"}
_STATION_FIELDS = frozenset({"keyid", "host"})
_SIGNATURE_FIELDS = frozenset({"from_seq", "sig"})
_ORIGIN_FIELDS = frozenset({"ledger_id", "seq", "hash"})
_CHAIN_FIELDS = frozenset({"ledger_id", "seq", "prev_hash", "hash"})
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
class StationRef:
    """The station that appended an entry: the keyid of its Ed25519 key, and its host."""

    keyid: str
    host: str

    def __post_init__(self) -> None:
        if not _KEYID.fullmatch(self.keyid):
            raise UsageError("a station keyid is 64 lowercase hex digits", target="station")
        if "\x00" in self.host:
            raise UsageError("a station host must not contain NUL characters", target="station")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"keyid": self.keyid, "host": self.host}

    def describe(self) -> str:
        """``host (keyid 1a2b3c4d5e6f7a8b…)``."""
        return f"{self.host or '-'} (key {self.keyid[:16]}…)"

    @classmethod
    def from_dict(cls, data: object, where: str) -> StationRef:
        """Strictly read the JSON form."""
        f = Fields(data, where, _STATION_FIELDS)
        return cls(f.text("keyid"), f.text("host"))


@functools.lru_cache(maxsize=256)
def _known_station(keyid: str, host: str) -> StationRef:
    return StationRef(keyid, host)


def _station(data: object, where: str) -> StationRef:
    """``StationRef.from_dict``, with the few stations of a ledger built once each: an
    audit reads one per entry."""
    if isinstance(data, dict) and data.keys() == _STATION_FIELDS:
        keyid, host = data["keyid"], data["host"]
        if type(keyid) is str and type(host) is str:
            return _known_station(keyid, host)
    return StationRef.from_dict(data, where)


@dataclass(frozen=True, slots=True)
class EntrySignature:
    """A station's signature closing an append transaction: it covers entries
    ``from_seq`` .. the entry that carries it. ``sig`` is 128 hex digits, or ``""`` in the
    form that is signed (see ``signing.unsigned_record``)."""

    from_seq: int
    sig: str

    def __post_init__(self) -> None:
        if not 1 <= self.from_seq <= MAX_SAFE_INT:
            raise UsageError(f"signature from_seq {self.from_seq} is out of range")
        if self.sig and not _SIG.fullmatch(self.sig):
            raise UsageError("an entry signature is 128 lowercase hex digits")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"from_seq": self.from_seq, "sig": self.sig}

    @classmethod
    def from_dict(cls, data: object, where: str) -> EntrySignature:
        """Strictly read the JSON form of a made signature (never the empty one)."""
        f = Fields(data, where, _SIGNATURE_FIELDS)
        sig = f.text("sig")
        if not _SIG.fullmatch(sig):
            raise IntegrityError(f"{where}.sig must be 128 lowercase hex digits")
        return cls(f.integer("from_seq", 1), sig)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a migrated entry was first recorded: its ledger, seq and hash there, so that
    the old chain can still be checked against the entries copied from it."""

    ledger_id: str
    seq: int
    hash: bytes

    def to_dict(self) -> dict[str, Any]:
        """JSON form, hash in hex."""
        return {"ledger_id": self.ledger_id, "seq": self.seq, "hash": self.hash.hex()}

    @classmethod
    def from_dict(cls, data: object, where: str) -> Origin:
        """Strictly read the JSON form."""
        f = Fields(data, where, _ORIGIN_FIELDS)
        return cls(f.text("ledger_id"), f.integer("seq", 1), _hex_hash(f.text("hash"), where))


@dataclass(frozen=True, slots=True)
class Record:
    """What one entry says: an event, when (UTC, whole seconds), by whom, from which station.

    ``station`` is ``None`` only for v1 records (read from old ledgers, never written now);
    ``signature`` is set on the entry that closes an append transaction; ``origin`` on an
    entry migrated from another ledger (only v2 records carry it: a record without a
    station is a draft until a store appends it).
    """

    time: datetime
    actor: str
    event: Event
    station: StationRef | None = None
    signature: EntrySignature | None = None
    origin: Origin | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", utc_second(self.time, "entry time"))
        if not self.actor or "\x00" in self.actor:
            raise UsageError("the actor of an entry must be a non-empty name", target="actor")
        if self.station is None and self.signature is not None:
            raise UsageError("a v1 record (no station) cannot carry a signature")

    @property
    def version(self) -> int:
        """1 for a record without a station (old ledgers), else 2."""
        return 1 if self.station is None else RECORD_VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON form; its canonical bytes are what the chain hashes."""
        base = {"time": format_time(self.time), "actor": self.actor, "event": self.event.to_dict()}
        if self.station is None:
            return base
        record = {
            "version": RECORD_VERSION,
            **base,
            "station": self.station.to_dict(),
            "signature": None if self.signature is None else self.signature.to_dict(),
        }
        if self.origin is not None:
            record["origin"] = self.origin.to_dict()
        return record

    def canonical(self) -> bytes:
        """RFC 8785 bytes of ``to_dict()``."""
        return canonical_bytes(self.to_dict())

    @classmethod
    def from_dict(cls, data: object, where: str = "record") -> Record:
        """Strictly read the JSON form (v1 or v2)."""
        v2 = isinstance(data, dict) and "version" in data
        f = Fields(
            data,
            where,
            _V2_FIELDS if v2 else _RECORD_FIELDS,
            optional=frozenset({"origin"}) if v2 else frozenset(),
        )
        if v2 and (f.raw("version") != RECORD_VERSION or isinstance(f.raw("version"), bool)):
            raise IntegrityError(
                f"{where}.version {f.raw('version')!r} is not a record version this expunge "
                f"reads (1 or {RECORD_VERSION})"
            )
        time = parse_time(f.text("time"), f"{where}.time")
        event = event_from_dict(f.obj("event"), f"{where}.event")
        station = signature = origin = None
        try:
            if v2:
                station = _station(f.raw("station"), f"{where}.station")
                raw_signature = f.raw("signature")
                if raw_signature is not None:
                    signature = EntrySignature.from_dict(raw_signature, f"{where}.signature")
                if f.has("origin"):
                    origin = Origin.from_dict(f.raw("origin"), f"{where}.origin")
            return cls(time, f.text("actor"), event, station, signature, origin)
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
    def station(self) -> StationRef | None:
        """The station that appended it (``None``: a v1 entry, from before entries were
        signed)."""
        return self.record.station

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
        if not isinstance(data, dict):
            raise IntegrityError(f"{where} must be an object")
        chain = {k: v for k, v in data.items() if k in _CHAIN_FIELDS}
        record = Record.from_dict({k: v for k, v in data.items() if k not in _CHAIN_FIELDS}, where)
        f = Fields(chain, where, _CHAIN_FIELDS)
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
