"""The hash chain: how entries are linked, and verification as a pure function.

Byte encoding of an entry's hash (all integers big-endian)::

    hash = BLAKE3(  b"expunge-ledger-v1\\x00"
                  ‖ u32(len(ledger_id_utf8)) ‖ ledger_id_utf8
                  ‖ u64(seq)
                  ‖ prev_hash                      32 bytes; 32 zero bytes for seq 1
                  ‖ record )                        RFC 8785 bytes of {time, actor, event}

Seqs start at 1 and increase by one. The same encoding hashes v1 and v2 records (the
record says its own version; v2 records carry their station and signature, see
``signing``). A checkpoint signs::

    b"expunge-ledger-checkpoint-v1\\x00" ‖ u32(len(ledger_id_utf8)) ‖ ledger_id_utf8
    ‖ u64(seq) ‖ head_hash (32 bytes)

and a station's head record (the last entry it appended, kept outside the ledger) the same
fields under the tag ``b"expunge-ledger-head-v1\\x00"``.

The tags keep a chain hash from ever being mistaken for a checkpoint message or for a hash
made by any other protocol; the length prefix keeps ledger id and seq from running together.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

import blake3

from expunge.core.errors import ExpungeError, IntegrityError
from expunge.ledger.entries import HASH_SIZE, Entry, EntrySignature, Head, RawEntry, Record
from expunge.ledger.events import Checkpoint
from expunge.ledger.seqhashes import SeqHashes
from expunge.ledger.signing import (
    Authenticity,
    AuthenticityReport,
    EntrySigner,
    EntryVerifier,
    SignatureProblemKind,
    entry_message,
)

DOMAIN_TAG = b"expunge-ledger-v1\x00"
CHECKPOINT_TAG = b"expunge-ledger-checkpoint-v1\x00"
HEAD_TAG = b"expunge-ledger-head-v1\x00"
GENESIS_HASH = bytes(HASH_SIZE)

# (message, keyid, signature) -> True when the signature is valid and made by a trusted key.
# It may instead raise an ExpungeError whose message says why not.
CheckpointVerifier = Callable[[bytes, str, bytes], bool]
# message -> (keyid, signature)
CheckpointSigner = Callable[[bytes], tuple[str, bytes]]

ProblemKind = (
    Literal[
        "hash-mismatch",
        "broken-link",
        "gap",
        "out-of-order",
        "duplicate",
        "foreign-ledger",
        "malformed",
        "checkpoint-mismatch",
        "bad-checkpoint-signature",
        "truncated",
        "anchor-mismatch",
    ]
    | SignatureProblemKind
)


def _ledger_prefix(tag: bytes, ledger_id: str) -> bytes:
    encoded = ledger_id.encode("utf-8")
    return tag + len(encoded).to_bytes(4, "big") + encoded


def entry_hash(ledger_id: str, seq: int, prev_hash: bytes, record: bytes) -> bytes:
    """The chain hash of one entry (encoding in the module docstring)."""
    return _hash_with(_ledger_prefix(DOMAIN_TAG, ledger_id), seq, prev_hash, record)


def _hash_with(prefix: bytes, seq: int, prev_hash: bytes, record: bytes) -> bytes:
    return blake3.blake3(prefix + seq.to_bytes(8, "big") + prev_hash + record).digest()


def checkpoint_message(ledger_id: str, seq: int, head_hash: bytes) -> bytes:
    """The bytes a checkpoint signature covers."""
    return _ledger_prefix(CHECKPOINT_TAG, ledger_id) + seq.to_bytes(8, "big") + head_hash


def head_message(head: Head) -> bytes:
    """The bytes a station's head record signs."""
    return _ledger_prefix(HEAD_TAG, head.ledger_id) + head.seq.to_bytes(8, "big") + head.hash


def next_entry(
    ledger_id: str,
    head: Head | None,
    record: Record,
    *,
    signer: EntrySigner | None = None,
    from_seq: int | None = None,
) -> Entry:
    """The entry that follows ``head`` (``None``: the first entry of the ledger).

    With ``signer``, the entry closes a transaction that began at ``from_seq`` (default:
    this entry) and carries the station's signature over it (see ``signing``).
    """
    return linked_entry(ledger_id, head, record, signer=signer, from_seq=from_seq)[0]


def linked_entry(
    ledger_id: str,
    head: Head | None,
    record: Record,
    *,
    signer: EntrySigner | None = None,
    from_seq: int | None = None,
) -> tuple[Entry, bytes]:
    """``next_entry``, and the canonical bytes of its record (what a store writes: they
    are computed once, which is most of the cost of an append)."""
    if head is not None and head.ledger_id != ledger_id:
        raise IntegrityError(f"head belongs to ledger {head.ledger_id}, not {ledger_id}")
    seq = head.seq + 1 if head else 1
    prev_hash = head.hash if head else GENESIS_HASH
    if signer is not None:
        blank = replace(record, signature=EntrySignature(from_seq or seq, ""))
        message = entry_message(ledger_id, seq, prev_hash, blank.canonical())
        sig = signer.sign(message).hex()
        record = replace(record, signature=EntrySignature(from_seq or seq, sig))
    data = record.canonical()
    return Entry(
        ledger_id, seq, record, prev_hash, entry_hash(ledger_id, seq, prev_hash, data)
    ), data


@dataclass(frozen=True)
class ChainProblem:
    """One thing wrong with the chain, at the seq it concerns."""

    seq: int
    kind: ProblemKind
    message: str

    def describe(self) -> str:
        """One line: ``seq 17: entry 17 does not match its hash ...``."""
        return f"seq {self.seq}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"seq": self.seq, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found.

    ``ok`` means no problem was found; whether checkpoints were also *verified* (a verifier
    was given) is in ``checkpoints_verified`` versus ``checkpoints``.
    """

    ledger_id: str | None
    entries: int
    head: Head | None
    problems: tuple[ChainProblem, ...]
    checkpoints: int
    checkpoints_verified: int
    anchors: int
    authenticity: AuthenticityReport

    @property
    def ok(self) -> bool:
        """True when the chain is intact and consistent with every anchor."""
        return not self.problems

    @property
    def problem_seqs(self) -> tuple[int, ...]:
        """The seqs named by problems, each once, in order."""
        return tuple(sorted({p.seq for p in self.problems}))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "ledger_id": self.ledger_id,
            "entries": self.entries,
            "head": self.head.to_dict() if self.head else None,
            "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
            "checkpoints": self.checkpoints,
            "checkpoints_verified": self.checkpoints_verified,
            "anchors": self.anchors,
            "authenticity": self.authenticity.to_dict(),
        }


class _Verifier:
    def __init__(
        self,
        ledger_id: str,
        checkpoint_verifier: CheckpointVerifier | None,
        entry_verifier: EntryVerifier | None,
    ):
        self.checkpoint_verifier = checkpoint_verifier
        self.authenticity = Authenticity(ledger_id, entry_verifier)
        self.problems: list[ChainProblem] = []
        # seq -> the hash its content really has (not the stored one): what checkpoints
        # and anchors are compared with, so a rewritten entry cannot satisfy them.
        self.content_hash = SeqHashes()
        # seq -> the stored hash, where it is not the content's (the entry was altered)
        self.altered: dict[int, bytes] = {}
        self.entries = 0
        self.last: RawEntry | None = None
        self.checkpoints = 0
        self.checkpoints_verified = 0

    def problem(self, seq: int, kind: ProblemKind, message: str) -> None:
        self.problems.append(ChainProblem(seq, kind, message))

    def order(self, raws: list[RawEntry]) -> list[RawEntry]:
        highest = 0
        for raw in raws:
            if raw.seq < highest:
                self.problem(
                    raw.seq, "out-of-order", f"entry {raw.seq} comes after entry {highest}"
                )
            highest = max(highest, raw.seq)
        return sorted(raws, key=lambda r: r.seq)

    def walk(self, ordered: Iterable[RawEntry], ledger_id: str) -> Iterator[Entry]:
        """Check each entry (given in seq order) against the one before; yield those that
        parse, as they are checked. ``last`` is the last entry of the chain walked."""
        prefix = _ledger_prefix(DOMAIN_TAG, ledger_id)
        prev: RawEntry | None = None
        # The hash prev's content really has: what content_hash holds for prev.seq, kept
        # here so that the walk does not look up every entry it has just stored.
        prev_actual: bytes | None = None
        for raw in ordered:
            self.entries += 1
            if prev is not None and raw.seq < prev.seq:
                # Only a stream can get here (``order`` sorts a list first).
                self.problem(raw.seq, "out-of-order", f"entry {raw.seq} comes after {prev.seq}")
                continue
            if raw.ledger_id != ledger_id:
                self.problem(
                    raw.seq,
                    "foreign-ledger",
                    f"entry {raw.seq} belongs to ledger {raw.ledger_id}, not {ledger_id}",
                )
                continue
            if raw.seq < 1:
                self.problem(raw.seq, "malformed", f"seq {raw.seq} is not a valid seq")
                continue
            if prev is not None and raw.seq == prev.seq:
                same = raw.hash == prev.hash and raw.record == prev.record
                self.problem(
                    raw.seq,
                    "duplicate",
                    f"entry {raw.seq} appears twice"
                    if same
                    else f"two different entries claim seq {raw.seq}",
                )
                continue
            expected = prev.seq + 1 if prev else 1
            linked = raw.seq == expected
            if raw.seq > expected:
                missing = f"{expected}" if raw.seq == expected + 1 else f"{expected}..{raw.seq - 1}"
                self.problem(expected, "gap", f"entries {missing} are missing (deleted)")
            elif raw.prev_hash != (prev.hash if prev else GENESIS_HASH):
                linked = False
                self.problem(
                    raw.seq,
                    "broken-link",
                    f"entry {raw.seq} does not follow entry {raw.seq - 1}: one of them was "
                    "replaced or rewritten",
                )
            actual = _hash_with(prefix, raw.seq, raw.prev_hash, raw.record)
            if actual != raw.hash:
                self.altered[raw.seq] = raw.hash
                self.problem(
                    raw.seq, "hash-mismatch", f"entry {raw.seq} does not match its hash (altered)"
                )
            # A signature covers earlier entries through prev_hash: it vouches for them
            # only where every link holds between their real contents.
            intact = linked and actual == raw.hash
            if prev is not None and prev_actual != prev.hash:
                intact = False
            self.content_hash[raw.seq] = actual
            entry = self.check_record(raw, ledger_id, intact)
            prev = self.last = raw
            prev_actual = actual
            if entry is not None:
                yield entry

    def check_record(self, raw: RawEntry, ledger_id: str, intact: bool) -> Entry | None:
        try:
            entry = raw.parse()
        except IntegrityError as exc:
            self.problem(raw.seq, "malformed", exc.message)
            self.authenticity.broken()
            return None
        self.authenticity.entry(raw, entry, intact)
        if isinstance(entry.event, Checkpoint):
            self.check_checkpoint(raw.seq, entry.event, ledger_id)
        return entry

    def check_checkpoint(self, seq: int, event: Checkpoint, ledger_id: str) -> None:
        self.checkpoints += 1
        target = event.seq
        if target >= seq:
            self.problem(
                seq, "checkpoint-mismatch", f"checkpoint {seq} signs a later entry {target}"
            )
            return
        actual = self.content_hash.get(target)
        if actual is None:
            self.problem(
                seq,
                "checkpoint-mismatch",
                f"checkpoint {seq} signs entry {target}, which is missing",
            )
            return
        if actual.hex() != event.head_hash:
            self.problem(
                seq,
                "checkpoint-mismatch",
                f"checkpoint {seq} signed entry {target} with a different hash: entry {target} "
                "or an earlier one was rewritten",
            )
        if self.checkpoint_verifier is None:
            return
        message = checkpoint_message(ledger_id, target, bytes.fromhex(event.head_hash))
        try:
            valid = self.checkpoint_verifier(message, event.keyid, bytes.fromhex(event.signature))
            reason = "the signature does not verify"
        except ExpungeError as exc:
            valid, reason = False, exc.message
        if valid:
            self.checkpoints_verified += 1
        else:
            self.problem(
                seq,
                "bad-checkpoint-signature",
                f"checkpoint {seq} (key {event.keyid}): {reason}",
            )

    def check_anchor(self, anchor: Head, ledger_id: str, head: RawEntry | None) -> None:
        if anchor.ledger_id != ledger_id:
            self.problem(
                anchor.seq,
                "foreign-ledger",
                f"anchor at seq {anchor.seq} belongs to ledger {anchor.ledger_id}, not {ledger_id}",
            )
        elif head is None or anchor.seq > head.seq:
            last = head.seq if head else 0
            self.problem(
                anchor.seq,
                "truncated",
                f"the ledger ends at seq {last} but entry {anchor.seq} was recorded elsewhere: "
                f"entries {last + 1}..{anchor.seq} were cut off",
            )
        elif anchor.seq in self.content_hash and self.content_hash.get(anchor.seq) != anchor.hash:
            self.problem(
                anchor.seq,
                "anchor-mismatch",
                f"entry {anchor.seq} differs from the one recorded elsewhere: history was "
                "rewritten",
            )


def verify_chain(
    entries: Iterable[RawEntry | Entry],
    *,
    ledger_id: str | None = None,
    checkpoint_verifier: CheckpointVerifier | None = None,
    entry_verifier: EntryVerifier | None = None,
    anchors: Iterable[Head] = (),
) -> ChainReport:
    """Check a ledger's entries, in the order given, as one intact chain.

    Finds altered entries (hash mismatch), deleted ones (gap), reordered ones, duplicates,
    entries of another ledger, malformed records, checkpoints that do not match the entry
    they sign or whose signature ``checkpoint_verifier`` rejects, v2 entries no station
    signature covers or whose signature ``entry_verifier`` rejects (see ``signing``), and,
    against each anchor (a head recorded elsewhere), truncation and rewritten history.
    Every problem names a seq. ``ledger_id`` defaults to the first entry's.
    """
    return verify_and_parse(
        entries,
        ledger_id=ledger_id,
        checkpoint_verifier=checkpoint_verifier,
        entry_verifier=entry_verifier,
        anchors=anchors,
    )[0]


def verify_and_parse(
    entries: Iterable[RawEntry | Entry],
    *,
    ledger_id: str | None = None,
    checkpoint_verifier: CheckpointVerifier | None = None,
    entry_verifier: EntryVerifier | None = None,
    anchors: Iterable[Head] = (),
) -> tuple[ChainReport, tuple[Entry, ...]]:
    """``verify_chain``, also returning the parsed entries in seq order, so that an audit
    parses every record once. Entries the report names as malformed, duplicate or of
    another ledger are left out."""
    raws = [e.raw() if isinstance(e, Entry) else e for e in entries]
    walk = ChainWalk(
        ledger_id=ledger_id,
        checkpoint_verifier=checkpoint_verifier,
        entry_verifier=entry_verifier,
    )
    parsed = tuple(walk.entries(raws, ordered=False))
    return walk.report(anchors), parsed


class ChainWalk:
    """``verify_and_parse`` as one pass over a stream: ``entries`` yields each entry once
    it is checked, so that a caller folds a ledger of any length without holding it;
    ``report`` then says what the walk found."""

    def __init__(
        self,
        *,
        ledger_id: str | None = None,
        checkpoint_verifier: CheckpointVerifier | None = None,
        entry_verifier: EntryVerifier | None = None,
    ) -> None:
        self.ledger_id = ledger_id
        self._verifier = _Verifier(ledger_id or "", checkpoint_verifier, entry_verifier)

    def entries(self, raws: Iterable[RawEntry], *, ordered: bool = True) -> Iterator[Entry]:
        """Walk ``raws`` and yield the entries that parse, in seq order.

        ``ordered``: the stream comes in seq order (a store's); an entry that does not is
        reported out of order and skipped. Otherwise the entries are gathered and sorted
        first, each found out of place reported.
        """
        stream: Iterable[RawEntry] = raws
        if not ordered:
            stream = self._verifier.order(list(raws))
        iterator = iter(stream)
        first = next(iterator, None)
        if first is None:
            return
        if self.ledger_id is None:
            self.ledger_id = first.ledger_id
            self._verifier.authenticity.ledger_id = first.ledger_id
        yield from self._verifier.walk(itertools.chain((first,), iterator), self.ledger_id)

    def content_hash(self, seq: int) -> bytes | None:
        """The hash entry ``seq``'s content has, once walked."""
        return self._verifier.content_hash.get(seq)

    def stored_hash(self, seq: int) -> bytes | None:
        """The hash entry ``seq`` was stored with, once walked."""
        return self._verifier.altered.get(seq) or self._verifier.content_hash.get(seq)

    @property
    def head(self) -> Head | None:
        """The last entry walked, as a head."""
        last = self._verifier.last
        return Head(last.ledger_id, last.seq, last.hash) if last else None

    def report(self, anchors: Iterable[Head] = ()) -> ChainReport:
        """What the walk found, the ``anchors`` (heads recorded elsewhere) checked against it.

        Call once the stream given to ``entries`` is exhausted.
        """
        verifier = self._verifier
        anchor_list = list(anchors)
        if self.ledger_id is None and anchor_list:
            self.ledger_id = anchor_list[0].ledger_id
        if self.ledger_id is not None:
            for anchor in anchor_list:
                verifier.check_anchor(anchor, self.ledger_id, verifier.last)
        authenticity = verifier.authenticity.report()
        for seq, kind, message in verifier.authenticity.findings:
            verifier.problem(seq, kind, message)
        return ChainReport(
            ledger_id=self.ledger_id,
            entries=verifier.entries,
            head=self.head,
            problems=tuple(sorted(verifier.problems, key=lambda p: p.seq)),
            checkpoints=verifier.checkpoints,
            checkpoints_verified=verifier.checkpoints_verified,
            anchors=len(anchor_list),
            authenticity=authenticity,
        )
