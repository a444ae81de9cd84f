"""The certificate model: strict reading, stable canonical bytes, outcome from the records."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from expunge.certificates import (
    SCHEMA_ID,
    Category,
    Certificate,
    ErrorRecord,
    FileSubject,
    KeyErasure,
    MethodUsed,
    Outcome,
    SubjectRecord,
    VerificationRecord,
    VerificationStatus,
    new_certificate_id,
    sha256_hex,
)
from expunge.certificates._strict import (
    canonical_form,
    es6_number,
    is_canonical,
    loads_noting_numbers,
    whole_floats_as_ints,
)
from expunge.certificates.model import UnsupportedSchema
from expunge.core.canonical import strict_loads
from expunge.core.clock import rfc3339
from expunge.core.errors import IntegrityError
from tests.support.tamper_fixtures import (
    FINAL_KEY,
    file_record,
    passes,
    sample_certificate,
    sample_drive_certificate,
    verification,
)


def _with_subjects(*records: SubjectRecord, **changes: Any) -> Certificate:
    return replace(sample_certificate(), subjects=records, **changes)


def test_round_trip_is_stable() -> None:
    certificate = sample_certificate()
    data = certificate.to_dict()
    payload = certificate.canonical()

    assert Certificate.from_dict(data) == certificate
    assert Certificate.from_json(payload) == certificate
    assert Certificate.from_json(payload).canonical() == payload
    assert json.loads(payload) == data
    assert certificate.digest == sha256_hex(payload)
    assert data["schema"] == SCHEMA_ID and data["version"] == 1


def test_canonical_bytes_are_rfc8785() -> None:
    for certificate in (sample_certificate(), sample_drive_certificate()):
        assert certificate.canonical() == rfc8785.dumps(certificate.to_dict())


def test_every_nist_field_is_in_the_payload() -> None:
    data = sample_certificate().to_dict()
    assert set(data["person"]) == {"name", "title", "organization", "location"}
    assert set(data["media"]) == {
        "manufacturer",
        "model",
        "serial",
        "media_type",
        "source",
        "classification",
    }
    assert {
        "category",
        "category_reason",
        "method_used",
        "method_details",
        "tool_name",
        "tool_version",
        "verification_method",
        "post_classification",
    } <= set(data["sanitization"])
    assert {"destination", "notes", "host", "previous_certificate_sha256"} <= set(data)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ((), "host"),
        (("person",), "title"),
        (("subjects", 1, "passes", 2), "key_hex"),
        (("subjects", 0, "verifications", 0), "coverage"),
        (("subjects", 0, "subject"), "inode"),
    ],
)
def test_a_missing_or_unknown_field_is_named_with_its_path(
    path: tuple[str | int, ...], field: str
) -> None:
    data = sample_certificate().to_dict()
    node: Any = data
    for step in path:
        node = node[step]
    where = "certificate" + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in path)

    missing = json.loads(json.dumps(data))
    target: Any = missing
    for step in path:
        target = target[step]
    del target[field]
    with pytest.raises(IntegrityError) as caught:
        Certificate.from_dict(missing)
    assert caught.value.message == f"{where}: missing field '{field}'"

    node["extra_" + field] = 1
    with pytest.raises(IntegrityError, match=f"unknown field 'extra_{field}'"):
        Certificate.from_dict(data)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("size", True, "must be an integer, not a boolean"),
        ("size", 1.5, "must be an integer, not a number"),
        ("size", -1, "at least 0"),
        ("size", 2**60, "beyond JSON's exact integers"),
        ("path", None, "must be a string, not null"),
        ("content_blake3", "ABCD", "lowercase hexadecimal"),
        ("content_blake3", "ab" * 8, "32 bytes"),
    ],
)
def test_values_are_type_checked(field: str, value: object, words: str) -> None:
    data = sample_certificate().to_dict()
    data["subjects"][0]["subject"][field] = value
    with pytest.raises(IntegrityError, match=words) as caught:
        Certificate.from_dict(data)
    assert "certificate.subjects[0].subject" in caught.value.message


def test_times_must_be_rfc3339_utc() -> None:
    data = sample_certificate().to_dict()
    data["subjects"][1]["passes"][0]["started_at"] = "2026-03-02 09:15:10+01:00"
    with pytest.raises(IntegrityError, match=r"subjects\[1\]\.passes\[0\]: started_at"):
        Certificate.from_dict(data)
    moment = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    assert rfc3339(moment) == "2026-01-02T03:04:05.600000Z"


def test_an_unknown_schema_version_is_its_own_error() -> None:
    data = sample_certificate().to_dict() | {"version": 2}
    with pytest.raises(UnsupportedSchema, match="version 2"):
        Certificate.from_dict(data)


def test_recorded_outcome_must_match_the_records() -> None:
    data = sample_certificate(mismatches=1).to_dict()
    assert data["outcome"] == "failed"
    data["outcome"] = "success"
    with pytest.raises(IntegrityError, match="outcome says success but its records say failed"):
        Certificate.from_dict(data)


def test_from_json_requires_canonical_strict_json() -> None:
    payload = sample_certificate().canonical()
    with pytest.raises(IntegrityError, match="canonical"):
        Certificate.from_json(payload + b" ")
    with pytest.raises(IntegrityError, match="duplicate key"):
        Certificate.from_json(b'{"host":"a",' + payload[1:])


# --- outcome -----------------------------------------------------------------------------


def test_success_needs_every_subject_destroyed_and_verified() -> None:
    assert sample_certificate().outcome is Outcome.SUCCESS
    assert sample_drive_certificate().outcome is Outcome.SUCCESS


def test_a_verification_mismatch_fails_the_whole_certificate() -> None:
    certificate = sample_certificate(mismatches=1)
    assert certificate.subjects[0].verifications[0].status is VerificationStatus.FAILED
    assert certificate.outcome is Outcome.FAILED


def test_unverified_media_are_never_success() -> None:
    record = replace(file_record("/f", 4096, 1), verifications=())
    assert _with_subjects(record).outcome is Outcome.PARTIAL


def test_incomplete_read_back_is_not_success() -> None:
    record = file_record("/f", 8192, 1)
    short = replace(record.verifications[0], blocks_checked=1)
    errors = replace(record.verifications[0], read_errors=1)
    assert short.status is VerificationStatus.INCOMPLETE
    assert errors.status is VerificationStatus.INCOMPLETE
    assert _with_subjects(replace(record, verifications=(short,))).outcome is Outcome.PARTIAL


def test_some_subjects_done_is_partial_and_none_done_is_failed() -> None:
    done = file_record("/a", 4096, 1)
    short_pass = replace(done.passes[2], bytes_written=100)
    undone = replace(file_record("/b", 4096, 2), passes=(*done.passes[:2], short_pass))
    assert not undone.sanitized
    assert _with_subjects(done, undone).outcome is Outcome.PARTIAL
    assert _with_subjects(undone).outcome is Outcome.FAILED


def test_errors_and_failed_removal_are_partial() -> None:
    record = file_record("/a", 4096, 1)
    error = ErrorRecord("rename", "could not rename", "/a")
    assert _with_subjects(record, errors=(error,)).outcome is Outcome.PARTIAL
    assert _with_subjects(replace(record, removed=False)).outcome is Outcome.PARTIAL


def test_interruption_wins_and_no_subject_fails() -> None:
    assert replace(sample_certificate(), interrupted_by="SIGINT").outcome is Outcome.INTERRUPTED
    assert _with_subjects().outcome is Outcome.FAILED


def test_crypto_erase_fits_the_schema() -> None:
    """A sealed document's key destroyed, proven by a key scan: Purge, no overwrite pass."""
    scan = VerificationRecord(
        mode="key-scan",
        pass_index=None,
        seed=None,
        block_size=4096,
        blocks_planned=12,
        blocks_checked=12,
        bytes_checked=49152,
        coverage=1.0,
        mismatches=0,
        mismatching_offsets=(),
        read_errors=0,
        digest=None,
        cache_bypass="O_DIRECT",
    )
    record = SubjectRecord(
        subject=FileSubject("/vault/doc.sealed", 1000, 7, 2049, "ext4", None, "DOC-1"),
        planned_passes=0,
        passes=(),
        verifications=(scan,),
        removed=True,
        key_erasure=KeyErasure("sealed-document", "keystore:DOC-1", destroyed=True),
    )
    certificate = _with_subjects(
        record,
        sanitization=replace(
            sample_certificate().sanitization,
            category=Category.PURGE,
            method_used=MethodUsed.CRYPTOGRAPHIC_ERASE,
            method_name="crypto-erase",
        ),
    )
    assert certificate.outcome is Outcome.SUCCESS
    assert Certificate.from_json(certificate.canonical()) == certificate
    kept = replace(record, key_erasure=KeyErasure("sealed-document", "keystore:DOC-1", False))
    assert _with_subjects(kept).outcome is Outcome.FAILED


def test_only_the_final_pass_may_keep_its_key() -> None:
    leaky = passes(4096)
    leaky = (replace(leaky[0], kind=leaky[2].kind, pattern_hex=None, key_hex=FINAL_KEY), *leaky[1:])
    with pytest.raises(IntegrityError, match="only the final pass's key"):
        replace(file_record("/a", 4096, 1), passes=leaky)


def test_verification_cannot_list_more_offsets_than_mismatches() -> None:
    with pytest.raises(IntegrityError, match="mismatching_offsets"):
        replace(verification(4096), mismatching_offsets=(0, 4096))


def test_certificate_ids_are_ulids_sorted_by_time() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [new_certificate_id(start + timedelta(milliseconds=m)) for m in (5, 1, 3)]
    assert all(len(i) == 26 for i in ids)
    assert sorted(ids) == [ids[1], ids[2], ids[0]]
    assert new_certificate_id(start) != new_certificate_id(start)
    assert new_certificate_id(start, bytes(10)) == new_certificate_id(start, bytes(10))
    with pytest.raises(IntegrityError, match="ULID"):
        replace(sample_certificate(), certificate_id="not-a-ulid")


# --- canonical form ------------------------------------------------------------------------


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_es6_number_matches_rfc8785(value: float) -> None:
    assert es6_number(value) == rfc8785.dumps(value).decode()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


def _rfc8785_or_none(value: object) -> bytes | None:
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, AttributeError):  # 0.1.2: a key not a string
        return None


@given(
    json_values
    | st.lists(st.integers())  # beyond 2**53 too
    | st.tuples(json_values)
    | st.dictionaries(st.integers(), json_values)
)
def test_canonical_form_is_rfc8785s(value: object) -> None:
    """The fast serialization gives rfc8785's bytes, or refuses what rfc8785 refuses."""
    canonical = _rfc8785_or_none(value)
    if canonical is None:
        with pytest.raises(IntegrityError):
            canonical_form(value)
    else:
        assert canonical_form(value) == canonical


@given(json_values)
def test_whole_floats_as_ints_changes_no_canonical_byte(value: object) -> None:
    canonical = _rfc8785_or_none(value)
    if canonical is not None:
        assert canonical_form(whole_floats_as_ints(copy.deepcopy(value))) == canonical


@given(json_values)
def test_is_canonical_agrees_with_rfc8785(value: object) -> None:
    """The fast check says yes exactly when rfc8785 would produce the same bytes."""
    canonical = _rfc8785_or_none(value)
    if canonical is None:
        return
    parsed = strict_loads(canonical)
    spaced = json.dumps(parsed, ensure_ascii=False).encode()
    for text in (canonical, spaced):
        expected = _rfc8785_or_none(parsed) == text
        assert is_canonical(parsed, text) == expected
        # As certificates are read: the numbers judged while parsing, not by a walk.
        noted, numbers_alike = loads_noting_numbers(text, "value")
        assert noted == parsed
        assert is_canonical(noted, text, numbers_alike) == expected


def test_a_key_erasure_names_its_document_and_key_and_old_ones_still_read() -> None:
    named = KeyErasure("sealed-document", "document key k1 of DOC-1", True, "DOC-1", "k1")
    data = named.to_dict()
    assert data == {
        "scope": "sealed-document",
        "key_reference": "document key k1 of DOC-1",
        "destroyed": True,
        "doc_id": "DOC-1",
        "key_id": "k1",
    }
    assert KeyErasure.from_dict(data, "erasure") == named
    # As certificates issued before doc_id/key_id wrote it (and LUKS erasures still do).
    legacy = {k: v for k, v in data.items() if k not in ("doc_id", "key_id")}
    assert KeyErasure.from_dict(legacy, "erasure") == replace(named, doc_id=None, key_id=None)
    assert replace(named, doc_id=None, key_id=None).to_dict() == legacy
    with pytest.raises(IntegrityError, match="missing field 'key_id'"):
        KeyErasure.from_dict({**legacy, "doc_id": "DOC-1"}, "erasure")
    with pytest.raises(IntegrityError, match="both doc_id and key_id"):
        KeyErasure("sealed-document", "document key k1 of DOC-1", True, "DOC-1", None)
    with pytest.raises(IntegrityError, match="must be a string"):
        KeyErasure.from_dict({**data, "key_id": None}, "erasure")
