"""The hash chain as pure functions: the documented encoding, and every kind of tampering."""

from __future__ import annotations

import dataclasses
import json

import blake3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expunge.core.canonical import canonical_bytes
from expunge.core.errors import IntegrityError
from expunge.ledger.chain import (
    GENESIS_HASH,
    checkpoint_message,
    entry_hash,
    next_entry,
    verify_and_parse,
    verify_chain,
)
from expunge.ledger.entries import Entry, Head, RawEntry, Record
from expunge.ledger.events import Checkpoint, Copy
from expunge.ledger.export import export_lines, read_export
from tests.support.ledger import (
    NOW,
    Signer,
    chain,
    checkpointed,
    register,
    sample_events,
)

LEDGER = "ledger-1"


def test_entry_hash_follows_the_documented_byte_layout() -> None:
    first, second = chain([register("DOC-1"), Copy("DOC-1", to_medium="S1")], LEDGER)
    record = canonical_bytes(
        {"time": "2026-03-01T12:00:01Z", "actor": "op", "event": second.event.to_dict()}
    )
    by_hand = blake3.blake3(
        b"expunge-ledger-v1\x00"
        + len(LEDGER).to_bytes(4, "big")
        + LEDGER.encode()
        + (2).to_bytes(8, "big")
        + first.hash
        + record
    ).digest()
    assert second.hash == by_hand
    assert first.prev_hash == GENESIS_HASH == bytes(32)
    assert second.prev_hash == first.hash
    assert entry_hash(LEDGER, 2, first.hash, record) == by_hand


def test_checkpoint_message_layout() -> None:
    head = bytes(range(32))
    assert checkpoint_message("L", 5, head) == (
        b"expunge-ledger-checkpoint-v1\x00" + b"\x00\x00\x00\x01L" + (5).to_bytes(8, "big") + head
    )


def test_the_ledger_id_is_bound_into_every_hash() -> None:
    events = [register("DOC-1")]
    assert chain(events, "ledger-a")[0].hash != chain(events, "ledger-b")[0].hash


def test_an_intact_chain_verifies_with_its_checkpoint() -> None:
    signer = Signer()
    entries = checkpointed(chain(sample_events(10)), signer)
    report = verify_chain(entries, checkpoint_verifier=signer.verify)
    assert report.ok, report.problems
    assert report.entries == 51
    assert report.head == entries[-1].head
    assert (report.checkpoints, report.checkpoints_verified) == (1, 1)
    assert report.to_dict()["ok"] is True


def _raws(entries: list[Entry]) -> list[RawEntry]:
    return [e.raw() for e in entries]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_changed_byte_of_any_entry_is_found_at_its_seq(data: st.DataObject) -> None:
    raws = _raws(chain(sample_events(3)))
    index = data.draw(st.integers(0, len(raws) - 1))
    field = data.draw(st.sampled_from(["record", "prev_hash", "hash"]))
    value = getattr(raws[index], field)
    position = data.draw(st.integers(0, len(value) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = value[:position] + bytes([value[position] ^ flip]) + value[position + 1 :]
    raws[index] = dataclasses.replace(raws[index], **{field: changed})
    report = verify_chain(raws)
    assert not report.ok
    assert raws[index].seq in report.problem_seqs


def test_verify_and_parse_returns_what_verify_chain_checked() -> None:
    entries = chain(sample_events(2))
    raws = _raws(entries)
    raws.insert(3, raws[2])
    report, parsed = verify_and_parse(raws)
    assert report == verify_chain(raws)
    assert [(p.seq, p.kind) for p in report.problems] == [(3, "duplicate")]
    assert list(parsed) == entries


def test_a_deleted_entry_is_a_gap_named_by_its_seq() -> None:
    entries = chain(sample_events(4))
    del entries[6]
    report = verify_chain(entries)
    assert [(p.seq, p.kind) for p in report.problems] == [(7, "gap")]


def test_swapped_entries_are_out_of_order() -> None:
    entries = chain(sample_events(4))
    entries[3], entries[4] = entries[4], entries[3]
    report = verify_chain(entries)
    assert [(p.seq, p.kind) for p in report.problems] == [(4, "out-of-order")]


def test_swapped_contents_under_the_same_seqs_break_both_entries() -> None:
    raws = _raws(chain(sample_events(4)))
    a, b = raws[3], raws[4]
    raws[3] = dataclasses.replace(b, seq=a.seq)
    raws[4] = dataclasses.replace(a, seq=b.seq)
    report = verify_chain(raws)
    assert {4, 5} <= set(report.problem_seqs)


def test_a_duplicated_entry_is_named() -> None:
    entries = chain(sample_events(4))
    entries.insert(5, entries[4])
    report = verify_chain(entries)
    assert [(p.seq, p.kind) for p in report.problems] == [(5, "duplicate")]


def test_a_conflicting_entry_with_the_same_seq_is_named() -> None:
    entries = chain(sample_events(2))
    other = next_entry(LEDGER, entries[1].head, Record(NOW, "eve", Copy("DOC-2026-000001", "/x")))
    forged = dataclasses.replace(other, seq=3, prev_hash=entries[1].hash)
    report = verify_chain([*entries[:3], forged, *entries[3:]])
    assert (3, "duplicate") in [(p.seq, p.kind) for p in report.problems]


def test_truncation_is_found_only_against_an_anchor() -> None:
    entries = chain(sample_events(4))
    anchor = entries[-1].head
    cut = entries[:-3]
    assert verify_chain(cut).ok
    report = verify_chain(cut, anchors=[anchor])
    assert [(p.seq, p.kind) for p in report.problems] == [(20, "truncated")]
    assert "entries 18..20 were cut off" in report.problems[0].message


def test_an_emptied_ledger_is_truncated_against_an_anchor() -> None:
    anchor = chain(sample_events(1))[-1].head
    report = verify_chain([], anchors=[anchor])
    assert [(p.seq, p.kind) for p in report.problems] == [(5, "truncated")]


def _rewritten_from(entries: list[Entry], index: int) -> list[Entry]:
    """What an attacker can do without any key: change one entry and re-link the rest."""
    rewritten = entries[:index]
    changed = Copy("DOC-2026-000001", to_path="/innocent/elsewhere")
    for n, entry in enumerate(entries[index:]):
        event = changed if n == 0 else entry.event
        head = rewritten[-1].head if rewritten else None
        rewritten.append(next_entry(LEDGER, head, Record(entry.time, entry.actor, event)))
    return rewritten


def test_a_rewritten_history_is_found_by_an_older_anchor() -> None:
    entries = chain(sample_events(4))
    rewritten = _rewritten_from(entries, 1)
    assert verify_chain(rewritten).ok  # the chain alone cannot tell
    report = verify_chain(rewritten, anchors=[entries[10].head])
    assert [(p.seq, p.kind) for p in report.problems] == [(11, "anchor-mismatch")]


def test_a_rewritten_history_breaks_a_signed_checkpoint() -> None:
    signer = Signer()
    entries = checkpointed(chain(sample_events(2)), signer)
    rewritten = _rewritten_from(entries, 1)
    report = verify_chain(rewritten, checkpoint_verifier=signer.verify)
    assert [(p.seq, p.kind) for p in report.problems] == [(11, "checkpoint-mismatch")]


def test_a_checkpoint_signed_by_another_key_is_named() -> None:
    station, auditor_trusts = Signer(), Signer()
    entries = checkpointed(chain(sample_events(2)), station)
    report = verify_chain(entries, checkpoint_verifier=auditor_trusts.verify)
    assert [(p.seq, p.kind) for p in report.problems] == [(11, "bad-checkpoint-signature")]
    assert report.checkpoints_verified == 0
    without = verify_chain(entries)
    assert without.ok and (without.checkpoints, without.checkpoints_verified) == (1, 0)


def test_a_verifier_may_say_why_it_rejects() -> None:
    signer = Signer()
    entries = checkpointed(chain(sample_events(1)), signer)

    def untrusted(message: bytes, keyid: str, signature: bytes) -> bool:
        raise IntegrityError(f"key {keyid[:8]} is not in the trust store")

    report = verify_chain(entries, checkpoint_verifier=untrusted)
    assert "is not in the trust store" in report.problems[0].message


def test_a_forged_checkpoint_signature_is_named() -> None:
    signer = Signer()
    entries = checkpointed(chain(sample_events(1)), signer)
    event = entries[-1].event
    assert isinstance(event, Checkpoint)
    forged = dataclasses.replace(event, signature="00" * 64)
    last = next_entry(LEDGER, entries[-2].head, Record(NOW, "eve", forged))
    report = verify_chain([*entries[:-1], last], checkpoint_verifier=signer.verify)
    assert [(p.seq, p.kind) for p in report.problems] == [(6, "bad-checkpoint-signature")]


def test_entries_of_another_ledger_are_named() -> None:
    ours = chain(sample_events(1), "ours")
    theirs = chain(sample_events(1), "theirs")
    report = verify_chain([*ours[:2], theirs[2], *ours[3:]], ledger_id="ours")
    assert (3, "foreign-ledger") in [(p.seq, p.kind) for p in report.problems]
    anchor = Head("theirs", 1, theirs[0].hash)
    assert not verify_chain(ours, ledger_id="ours", anchors=[anchor]).ok


def test_a_record_that_hashes_but_does_not_parse_is_malformed() -> None:
    entries = _raws(chain(sample_events(1)))
    record = b'{"not": "a record"}'
    head = Head(LEDGER, entries[-1].seq, entries[-1].hash)
    bad = RawEntry(LEDGER, 6, record, head.hash, entry_hash(LEDGER, 6, head.hash, record))
    report = verify_chain([*entries, bad])
    assert [(p.seq, p.kind) for p in report.problems] == [(6, "malformed")]


def test_export_round_trip_verifies_and_an_edited_line_fails_at_its_seq() -> None:
    signer = Signer()
    entries = checkpointed(chain(sample_events(3)), signer)
    lines = list(export_lines(entries))
    assert verify_chain(read_export(lines), checkpoint_verifier=signer.verify).ok
    line = json.loads(lines[5])
    line["actor"] = "mallory"
    lines[5] = json.dumps(line)
    report = verify_chain(read_export(lines))
    assert [(p.seq, p.kind) for p in report.problems] == [(6, "hash-mismatch")]


def test_a_damaged_export_line_names_its_number() -> None:
    lines = list(export_lines(chain(sample_events(1))))
    lines[2] = lines[2][:40]
    with pytest.raises(IntegrityError, match="line 3"):
        list(read_export(lines, "ledger.jsonl"))
