"""Event models: exact JSON forms, strict reading, validation of what people type."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from expunge.core.canonical import canonical_bytes
from expunge.core.errors import IntegrityError, UsageError
from expunge.ledger.entries import Entry, Head, RawEntry, Record
from expunge.ledger.events import (
    Checkpoint,
    Copy,
    Event,
    Seal,
    Transfer,
    WriteOff,
    event_from_dict,
    format_time,
    parse_time,
    utc_second,
)
from expunge.ledger.ids import next_document_id, validate_document_id
from tests.support.ledger import STATION, chain, destroy, register, signed_chain

EVENTS: list[Event] = [
    register("DOC-2026-000001", retain_until=datetime(2030, 1, 1, tzinfo=UTC)),
    register("sealed-1", sealed=True, title=""),
    Copy("DOC-2026-000001", to_path="/mnt/usb/report.pdf"),
    Copy("DOC-2026-000001", to_medium="SERIAL-XYZ"),
    Transfer("DOC-2026-000001", "bob"),
    Seal("DOC-2026-000001", "/docs/report.pdf.sealed", "key-1"),
    destroy("DOC-2026-000001", paths=["/docs/a", "/docs/b"], media=["S1"], key_erased=True),
    WriteOff("DOC-2026-000001", 3, "destroyed-physically", "Bea Auditor"),
    Checkpoint(7, "cd" * 32, "keyid-1", "0badc0de"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_every_event_round_trips_through_json(event: Event) -> None:
    data = json.loads(json.dumps(event.to_dict()))
    assert event_from_dict(data) == event
    assert data["type"] == event.kind


def test_register_json_has_exactly_the_documented_fields() -> None:
    data = register("DOC-1", retain_until=datetime(2030, 1, 1, tzinfo=UTC)).to_dict()
    assert set(data) == {
        "type",
        "doc_id",
        "title",
        "classification",
        "custodian",
        "path",
        "size",
        "digest",
        "retain_until",
        "sealed",
    }
    assert data["retain_until"] == "2030-01-01T00:00:00Z"


def _register_dict(**changes: Any) -> dict[str, Any]:
    data = register("DOC-1").to_dict()
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"extra": 1}, "unknown field"),
        ({"size": "4096"}, "size must be an integer"),
        ({"size": True}, "size must be an integer"),
        ({"sealed": 1}, "sealed must be true or false"),
        ({"retain_until": "2030-01-01"}, "UTC time"),
        ({"retain_until": "2030-01-01T00:00:00+00:00"}, "UTC time"),
        ({"retain_until": "2030-02-30T00:00:00Z"}, "not a real date"),
        ({"doc_id": "bad id!"}, "not a valid document id"),
        ({"path": "relative/path"}, "not an absolute path"),
        ({"digest": "AB" * 32}, "digest"),
        ({"type": "shred"}, "type must be one of"),
    ],
)
def test_strict_reading_refuses_deviations(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(IntegrityError, match=complaint):
        event_from_dict(_register_dict(**changes))


def test_missing_field_is_refused() -> None:
    data = _register_dict()
    del data["custodian"]
    with pytest.raises(IntegrityError, match=r"missing field.*custodian"):
        event_from_dict(data)


@pytest.mark.parametrize(
    "make",
    [
        lambda: register("has space"),
        lambda: register("DOC-1", path="docs/x"),
        lambda: register("DOC-1", size=-1),
        lambda: register("DOC-1", classification=""),
        lambda: register("DOC-1", retain_until=datetime(2030, 1, 1)),
        lambda: Copy("DOC-1"),
        lambda: Copy("DOC-1", to_path="/a", to_medium="S"),
        lambda: destroy("DOC-1"),
        lambda: destroy("DOC-1", paths=["/a", "/a"]),
        lambda: Checkpoint(0, "00" * 32, "k", "00"),
        lambda: Checkpoint(1, "00" * 32, "k", "xyz"),
    ],
)
def test_constructors_refuse_bad_input_as_usage_errors(make: Any) -> None:
    with pytest.raises(UsageError):
        make()


def test_times_are_utc_whole_seconds() -> None:
    eastern = timezone(timedelta(hours=-5))
    record = Record(datetime(2026, 3, 1, 7, 0, 0, 987654, tzinfo=eastern), "op", EVENTS[4])
    assert record.time == datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert record.to_dict()["time"] == "2026-03-01T12:00:00Z"
    assert parse_time(format_time(record.time), "t") == record.time
    with pytest.raises(UsageError, match="no time zone"):
        Record(datetime(2026, 3, 1), "op", EVENTS[4])


def test_entry_round_trips_and_its_raw_form_is_canonical() -> None:
    (entry,) = chain([EVENTS[0]])
    assert Entry.from_dict(json.loads(json.dumps(entry.to_dict()))) == entry
    raw = entry.raw()
    assert raw.record == canonical_bytes(entry.record.to_dict())
    assert raw.parse() == entry


def test_v2_entries_round_trip_through_export_form_and_v1_records_stay_v1() -> None:
    first, second = signed_chain([(STATION, [EVENTS[0], EVENTS[4]])])
    for entry in (first, second):
        assert Entry.from_dict(json.loads(json.dumps(entry.to_dict()))) == entry
        assert entry.raw().parse() == entry
        assert entry.record.version == 2
    assert set(second.record.to_dict()) == {
        "version", "time", "actor", "station", "event", "signature"
    }  # fmt: skip
    (old,) = chain([EVENTS[0]])
    assert old.record.version == 1 and set(old.record.to_dict()) == {"time", "actor", "event"}


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"version": 3}, "not a record version"),
        ({"version": True}, "not a record version"),
        ({"station": {"keyid": "ab", "host": "h"}}, "64 lowercase hex"),
        ({"signature": {"from_seq": 1, "sig": ""}}, "128 lowercase hex"),
        ({"signature": {"from_seq": 0, "sig": "ab" * 64}}, "at least 1"),
        ({"station": None}, "must be an object"),
    ],
)
def test_v2_records_are_read_strictly(change: dict[str, Any], complaint: str) -> None:
    (entry,) = signed_chain([(STATION, [EVENTS[0]])])
    data = entry.record.to_dict() | change
    with pytest.raises(IntegrityError, match=complaint):
        Record.from_dict(data)
    v1_with_signature = {k: v for k, v in entry.record.to_dict().items() if k != "version"}
    with pytest.raises(IntegrityError, match="unknown field"):
        Record.from_dict(v1_with_signature)


def test_a_raw_entry_that_does_not_parse_names_its_seq() -> None:
    raw = RawEntry("ledger-1", 42, b'{"time": 1}', bytes(32), bytes(32))
    with pytest.raises(IntegrityError, match="ledger entry 42"):
        raw.parse()


def test_head_round_trips_and_refuses_short_hashes() -> None:
    head = Head("ledger-1", 3, bytes(range(32)))
    assert Head.from_dict(head.to_dict()) == head
    with pytest.raises(IntegrityError, match="64 lowercase hex"):
        Head.from_dict({"ledger_id": "ledger-1", "seq": 3, "hash": "00" * 31})


@pytest.mark.parametrize("good", ["DOC-2026-000123", "a", "Q3.budget_v2", "x" * 64])
def test_document_ids_people_may_give(good: str) -> None:
    assert validate_document_id(good) == good


@pytest.mark.parametrize("bad", ["", "-x", "a b", "a/b", "x" * 65, "ü", "DOC\n1"])
def test_document_ids_refused_with_a_remedy(bad: str) -> None:
    with pytest.raises(UsageError) as caught:
        validate_document_id(bad)
    assert "omit --id" in caught.value.diagnostics()


def test_generated_ids_count_per_year_and_ignore_other_forms() -> None:
    existing = ["DOC-2026-000007", "DOC-2025-000900", "DOC-2026-12", "custom", "DOC-2026-1000000"]
    assert next_document_id(existing, 2026) == "DOC-2026-1000001"
    assert next_document_id(existing[:4], 2026) == "DOC-2026-000008"
    assert next_document_id(existing, 2027) == "DOC-2027-000001"


def test_utc_second_normalizes_and_keeps_what_is_normal() -> None:
    normal = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
    assert utc_second(normal) is normal
    fraction = datetime(2026, 3, 1, 12, 0, 5, 999_999, tzinfo=UTC)
    assert utc_second(fraction) == normal
    plus_two = datetime(2026, 3, 1, 14, 0, 5, 10, tzinfo=timezone(timedelta(hours=2)))
    moved = utc_second(plus_two)
    assert moved == normal and moved.tzinfo is UTC
    with pytest.raises(UsageError):
        utc_second(datetime(2026, 3, 1, 12))


def test_values_many_events_repeat_are_read_as_one_string() -> None:
    # An audit keeps these for every document: one object each, not one per event.
    def read(event: Event) -> Any:
        return event_from_dict(json.loads(json.dumps(event.to_dict())))

    first, second = read(register("DOC-A")), read(register("DOC-B"))
    assert first.classification is second.classification
    assert first.custodian is second.custodian
    moved = [read(Transfer(doc, "bob")) for doc in ("DOC-A", "DOC-B")]
    assert moved[0].custodian is moved[1].custodian
    copies = [read(Copy(doc, to_medium="serial:XYZ")) for doc in ("DOC-A", "DOC-B")]
    assert copies[0].to_medium is copies[1].to_medium
    gone = [read(destroy(doc, paths=(f"/d/{doc}",))) for doc in ("DOC-A", "DOC-B")]
    assert gone[0].method is gone[1].method
