"""Entry signatures: who appended what, proven by the station's key (record format v2).

Every v2 entry names its station (``StationRef``: keyid and host). The station signs each
append *transaction* once, on its last entry, with Ed25519 (the station key, keyid as in
certificates)::

    message = b"expunge-ledger-entry-v2\\x00" ‖ u32(len(ledger_id_utf8)) ‖ ledger_id_utf8
              ‖ u64(seq) ‖ prev_hash ‖ unsigned record

where *unsigned record* is the entry's canonical record with ``signature.sig`` set to
``""``, and ``signature.from_seq`` is the first seq of the transaction. Because
``prev_hash`` commits to every earlier entry, the signature authenticates entries
``from_seq`` .. ``seq`` exactly, at their places in this ledger: none can be altered,
moved, replayed into another ledger, or slipped in between without the key. One signature
per transaction keeps an audit of 100,000 entries from paying 100,000 verifications when
they were appended in batches (a directory destroyed, a drive wiped), while a command that
appends one entry signs that entry.

``Authenticity`` walks the entries in seq order and says which are authenticated: every v2
entry must lie in a span ``from_seq`` .. ``seq`` closed by a signature that verifies under
a trusted station key, and every entry of the span must name that station. v1 entries
(ledgers from before signing) are counted as unauthenticated, not as tampering, while they
come first; a v1 entry after a v2 one was not written by this expunge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from expunge.core.errors import ExpungeError
from expunge.ledger.entries import Entry, RawEntry, StationRef

ENTRY_SIGNATURE_TAG = b"expunge-ledger-entry-v2\x00"

# (message, station keyid, signature) -> True when the signature is valid and the key is a
# trusted station key; it may instead raise an ExpungeError whose message says why not.
# (The same shape as a checkpoint verifier: one trust-store verifier serves both.)
EntryVerifier = Callable[[bytes, str, bytes], bool]


class EntrySigner(Protocol):
    """What a store needs to append v2 entries: the station named in them, and its key."""

    @property
    def station(self) -> StationRef:
        """The station every appended entry names."""

    def sign(self, message: bytes) -> bytes:
        """An Ed25519 signature of ``message`` by the station key."""


def entry_message(ledger_id: str, seq: int, prev_hash: bytes, unsigned: bytes) -> bytes:
    """The bytes a transaction's signature covers (layout in the module docstring)."""
    encoded = ledger_id.encode("utf-8")
    return (
        ENTRY_SIGNATURE_TAG
        + len(encoded).to_bytes(4, "big")
        + encoded
        + seq.to_bytes(8, "big")
        + prev_hash
        + unsigned
    )


def unsigned_record(record: bytes, sig: str) -> bytes | None:
    """The stored record bytes with the signature's ``sig`` emptied: what was signed.

    Canonical JSON writes the value as ``"sig":"<hex>"``; exactly one occurrence is
    required (``None`` otherwise), so the bytes that were signed are found without
    re-serializing the record.
    """
    needle = b'"sig":"' + sig.encode("ascii") + b'"'
    if record.count(needle) != 1:
        return None
    return record.replace(needle, b'"sig":""')


@dataclass(frozen=True)
class StationCount:
    """How many authenticated entries one station appended."""

    keyid: str
    host: str
    entries: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"keyid": self.keyid, "host": self.host, "entries": self.entries}


@dataclass(frozen=True)
class AuthenticityReport:
    """Which entries the stations' signatures authenticate.

    ``verified`` is False when no verifier was given (signatures then only checked for
    their structure).
    """

    v1_entries: int = 0
    v2_entries: int = 0
    authenticated: int = 0
    signatures: int = 0
    signatures_verified: int = 0
    stations: tuple[StationCount, ...] = ()
    verified: bool = False

    @property
    def unauthenticated(self) -> int:
        """Entries no valid signature covers (v1 entries included)."""
        return self.v1_entries + self.v2_entries - self.authenticated

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "v1_entries": self.v1_entries,
            "v2_entries": self.v2_entries,
            "authenticated": self.authenticated,
            "signatures": self.signatures,
            "signatures_verified": self.signatures_verified,
            "stations": [s.to_dict() for s in self.stations],
            "verified": self.verified,
        }


SignatureProblemKind = Literal["unauthenticated", "bad-entry-signature"]
# (seq, kind, message): reported by the chain verifier as ChainProblems.
Finding = tuple[int, SignatureProblemKind, str]


def _span(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first}..{last}"


@dataclass(frozen=True)
class _Closing:
    """A signature to verify, closing a span from ``start``; ``authenticates`` is how many
    entries it covers whose hashes and links held (0 when one did not)."""

    raw: RawEntry
    station: StationRef
    start: int
    sig: str
    authenticates: int


@dataclass
class Authenticity:
    """The walk over entries in seq order (fed by ``chain.verify_chain``)."""

    ledger_id: str
    verifier: EntryVerifier | None
    findings: list[Finding] = field(default_factory=list)
    # The open run: seqs of v2 entries not yet closed by a signature, all naming
    # ``run_station``; ``run_broken`` those whose hash or link did not hold.
    run: list[int] = field(default_factory=list)
    run_station: StationRef | None = None
    run_broken: list[int] = field(default_factory=list)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    pending: list[_Closing] = field(default_factory=list)
    v1: int = 0
    v2: int = 0
    authenticated: int = 0
    signatures: int = 0
    signatures_verified: int = 0

    def broken(self) -> None:
        """An entry that did not parse: the run before it can no longer be closed."""
        self._unsigned_run()

    def entry(self, raw: RawEntry, entry: Entry, intact: bool) -> None:
        """One parsed entry; ``intact`` says its hash and link were verified."""
        station = entry.record.station
        seq = entry.seq
        if station is None:
            self._unsigned_run()
            if self.v2:
                self.findings.append(
                    (
                        seq,
                        "unauthenticated",
                        f"entry {seq} is an unsigned v1 entry after v2 entries: it was "
                        "not appended by a station (forged, or written by an old expunge)",
                    )
                )
            self.v1 += 1
            return
        self.v2 += 1
        if self.run and self.run_station != station:
            self._unsigned_run()
        self.run_station = station
        self.run.append(seq)
        if not intact:
            self.run_broken.append(seq)
        signature = entry.record.signature
        if signature is not None:
            self._close(raw, station, signature.from_seq, signature.sig)

    def _take_run(self) -> tuple[list[int], list[int]]:
        run, broken = self.run, self.run_broken
        self.run, self.run_broken = [], []
        return run, broken

    def _unsigned_run(self) -> None:
        if not self.run:
            return
        station = self.run_station
        assert station is not None
        run, _ = self._take_run()
        self.findings.append(
            (
                run[0],
                "unauthenticated",
                f"{_span(run[0], run[-1])} (station {station.describe()}) carry no "
                "station signature: appended without the station key",
            )
        )

    def _close(self, raw: RawEntry, station: StationRef, start: int, sig: str) -> None:
        """A signature closes the run: check its span now, queue it for verification."""
        self.signatures += 1
        run, broken = self._take_run()
        first, seq = run[0], raw.seq
        if start < first:
            self.findings.append(
                (
                    seq,
                    "bad-entry-signature",
                    f"entry {seq} signs from seq {start}, but entries {start}..{first - 1} "
                    "belong to another transaction or station",
                )
            )
            return
        if start > first:
            self.findings.append(
                (
                    first,
                    "unauthenticated",
                    f"{_span(first, start - 1)} lie between two transactions of station "
                    f"{station.describe()}: no signature covers them (slipped in)",
                )
            )
            run, broken = [s for s in run if s >= start], [s for s in broken if s >= start]
        if self.verifier is not None:
            self.pending.append(_Closing(raw, station, start, sig, 0 if broken else len(run)))

    def _resolve(self, verifier: EntryVerifier, closing: _Closing) -> None:
        raw, station, sig = closing.raw, closing.station, closing.sig
        unsigned = unsigned_record(raw.record, sig)
        valid, reason = False, "the signature does not verify"
        if unsigned is not None:
            message = entry_message(self.ledger_id, raw.seq, raw.prev_hash, unsigned)
            try:
                valid = verifier(message, station.keyid, bytes.fromhex(sig))
            except ExpungeError as exc:
                reason = exc.message
        if not valid:
            self.findings.append(
                (
                    raw.seq,
                    "bad-entry-signature",
                    f"the signature closing {_span(closing.start, raw.seq)} (station "
                    f"{station.describe()}): {reason}",
                )
            )
            return
        self.signatures_verified += 1
        if closing.authenticates:
            self.authenticated += closing.authenticates
            key = (station.keyid, station.host)
            self.counts[key] = self.counts.get(key, 0) + closing.authenticates

    def report(self) -> AuthenticityReport:
        """Close the walk (a run left open at the end is unsigned), then verify the
        signatures: only now, so that a verifier whose answers come from worker processes
        is consulted after the walk, not waited for during it."""
        self._unsigned_run()
        if self.verifier is not None:
            for closing in self.pending:
                self._resolve(self.verifier, closing)
        return AuthenticityReport(
            v1_entries=self.v1,
            v2_entries=self.v2,
            authenticated=self.authenticated,
            signatures=self.signatures,
            signatures_verified=self.signatures_verified,
            stations=tuple(StationCount(k, h, n) for (k, h), n in sorted(self.counts.items())),
            verified=self.verifier is not None,
        )
