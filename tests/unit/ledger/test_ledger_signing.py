"""Entry signatures (record format v2): the documented bytes, one signature per transaction,
and every way of slipping in, editing or re-attributing an entry without the key."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expunge.core.canonical import canonical_bytes
from expunge.core.errors import IntegrityError
from expunge.ledger.chain import GENESIS_HASH, entry_hash, next_entry, verify_chain
from expunge.ledger.entries import Entry, EntrySignature, RawEntry, Record
from expunge.ledger.events import Event, Transfer
from expunge.ledger.signing import EntryVerifier, entry_message, unsigned_record
from tests.support.ledger import NOW, StationKey, register, sample_events, signed_chain

A, B = StationKey("station-a"), StationKey("station-b")


def trusting(*stations: StationKey) -> EntryVerifier:
    """An auditor's verifier trusting ``stations``."""
    keys = {s.keyid: s for s in stations}

    def verify(message: bytes, keyid: str, signature: bytes) -> bool:
        station = keys.get(keyid)
        if station is None:
            raise IntegrityError(f"signed by key {keyid}, which is not a trusted station key")
        return station.verify(message, keyid, signature)

    return verify


def _relinked(entries: list[Entry | RawEntry], ledger_id: str = "ledger-1") -> list[RawEntry]:
    """Entries rehashed into one valid chain (what a forger with file access can do)."""
    out: list[RawEntry] = []
    prev = GENESIS_HASH
    for seq, item in enumerate(entries, start=1):
        raw = item.raw() if isinstance(item, Entry) else item
        digest = entry_hash(ledger_id, seq, prev, raw.record)
        out.append(RawEntry(ledger_id, seq, raw.record, prev, digest))
        prev = digest
    return out


def test_the_signature_covers_the_documented_bytes() -> None:
    first, second = signed_chain([(A, [register("DOC-1"), Transfer("DOC-1", "bob")])])
    assert first.record.signature is None
    assert second.record.signature is not None and second.record.signature.from_seq == 1
    blank = dataclasses.replace(second.record, signature=EntrySignature(1, ""))
    message = (
        b"expunge-ledger-entry-v2\x00"
        + (8).to_bytes(4, "big")
        + b"ledger-1"
        + (2).to_bytes(8, "big")
        + first.hash
        + blank.canonical()
    )
    assert entry_message("ledger-1", 2, first.hash, blank.canonical()) == message
    signature = bytes.fromhex(second.record.signature.sig)
    A.key.public_key().verify(signature, message)  # raises if not
    stored = second.record.canonical()
    assert unsigned_record(stored, second.record.signature.sig) == blank.canonical()
    assert canonical_bytes(second.record.to_dict()) == stored
    assert second.record.to_dict()["station"] == {"keyid": A.keyid, "host": "station-a"}


def test_one_signature_authenticates_a_whole_transaction() -> None:
    entries = signed_chain(
        [(A, sample_events(2)), (B, [register("DOC-B")]), (A, sample_events(1)[:1])]
    )
    report = verify_chain(entries, entry_verifier=trusting(A, B))
    assert report.ok, report.problems
    found = report.authenticity
    assert (found.v2_entries, found.authenticated, found.signatures) == (12, 12, 3)
    assert {(s.host, s.entries) for s in found.stations} == {("station-a", 11), ("station-b", 1)}
    assert report.to_dict()["authenticity"]["signatures_verified"] == 3


def test_without_a_verifier_only_the_structure_is_checked() -> None:
    report = verify_chain(signed_chain([(A, sample_events(1))]))
    assert report.ok
    assert (report.authenticity.verified, report.authenticity.authenticated) == (False, 0)


def test_a_key_outside_the_trust_store_authenticates_nothing() -> None:
    entries = signed_chain([(A, [register("DOC-1")]), (B, [Transfer("DOC-1", "eve")])])
    report = verify_chain(entries, entry_verifier=trusting(A))
    assert [(p.seq, p.kind) for p in report.problems] == [(2, "bad-entry-signature")]
    assert "not a trusted station key" in report.problems[0].message
    assert report.authenticity.authenticated == 1


def _unsigned(event: Event, station: StationKey | None) -> Record:
    return Record(NOW, "mallory", event, station.station if station else None)


@pytest.mark.parametrize("claimed", [A, B, None])
def test_an_entry_slipped_in_at_the_tail_is_unauthenticated(claimed: StationKey | None) -> None:
    entries = signed_chain([(A, sample_events(1))])
    forged = next_entry(
        "ledger-1", entries[-1].head, _unsigned(Transfer("DOC-2026-000001", "eve"), claimed)
    )
    report = verify_chain([*entries, forged], entry_verifier=trusting(A, B))
    assert [(p.seq, p.kind) for p in report.problems] == [(6, "unauthenticated")]


def test_an_entry_between_two_transactions_is_caught_though_the_next_one_signs_over_it() -> None:
    """The next transaction's signature commits to it through prev_hash, but its from_seq
    says where the transaction began: the slipped-in entry is outside every span."""
    entries = signed_chain([(A, sample_events(1))])
    forged = next_entry(
        "ledger-1", entries[-1].head, _unsigned(Transfer("DOC-2026-000001", "eve"), A)
    )
    after = next_entry(
        "ledger-1",
        forged.head,
        _unsigned(Transfer("DOC-2026-000001", "bob"), A),
        signer=A,  # the station appends again, over the forged head
    )
    report = verify_chain([*entries, forged, after], entry_verifier=trusting(A))
    assert [(p.seq, p.kind) for p in report.problems] == [(6, "unauthenticated")]
    assert report.authenticity.authenticated == 6


def test_a_signature_that_claims_more_than_its_transaction_is_refused() -> None:
    entries = signed_chain([(A, [register("DOC-1")]), (B, [Transfer("DOC-1", "bob")])])
    grab = next_entry(
        "ledger-1", entries[-1].head, _unsigned(Transfer("DOC-1", "eve"), A), signer=A, from_seq=2
    )
    report = verify_chain([*entries, grab], entry_verifier=trusting(A, B))
    assert (3, "bad-entry-signature") in [(p.seq, p.kind) for p in report.problems]


TAMPERING = ["edit", "drop signature", "restation", "insert", "delete"]


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.tuples(st.booleans(), st.integers(1, 4)), min_size=1, max_size=6),
    how=st.sampled_from(TAMPERING),
    where=st.integers(0, 10_000),
)
def test_no_tampering_without_the_key_is_accepted(
    sizes: list[tuple[bool, int]], how: str, where: int
) -> None:
    """Whatever the transactions, any edit relinked into a valid chain is found."""
    transactions = []
    for n, (by_a, count) in enumerate(sizes):
        doc = f"DOC-{n}"
        events: list[Event] = [register(doc)] + [Transfer(doc, f"c{i}") for i in range(count - 1)]
        transactions.append((A if by_a else B, events))
    entries = signed_chain(transactions)
    assert verify_chain(entries, entry_verifier=trusting(A, B)).ok
    index = where % len(entries)
    target = entries[index]
    changed: list[Entry | RawEntry] = list(entries)
    if how == "edit":
        record = dataclasses.replace(target.record, actor="mallory")
        changed[index] = dataclasses.replace(target, record=record)
    elif how == "drop signature":
        last = max(i for i, e in enumerate(entries) if e.record.signature is not None)
        changed[last] = dataclasses.replace(
            entries[last], record=dataclasses.replace(entries[last].record, signature=None)
        )
    elif how == "restation":
        other = B if target.record.station == A.station else A
        record = dataclasses.replace(target.record, station=other.station)
        changed[index] = dataclasses.replace(target, record=record)
    elif how == "insert":
        changed.insert(index, next_entry("ledger-1", None, _unsigned(register("DOC-X"), A)))
    else:
        if index == len(entries) - 1 and target.record.signature == EntrySignature(
            target.seq, target.record.signature.sig if target.record.signature else ""
        ):
            return  # a whole last transaction cut off: the head record's job, not this one
        del changed[index]
    report = verify_chain(_relinked(changed), entry_verifier=trusting(A, B))
    assert not report.ok
    assert report.authenticity.authenticated < len(changed)
