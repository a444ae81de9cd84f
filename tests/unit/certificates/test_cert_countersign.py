"""Countersignatures: an auditor's validation, bound to one certificate, required on demand."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge.certificates import (
    Certificate,
    CountersignatureStatus,
    Envelope,
    Person,
    Reason,
    Role,
    TrustStore,
    countersign,
    keyid,
    sign_certificate,
    sign_envelope,
    verify_certificate,
    verify_envelope,
)
from expunge.certificates.countersignature import VALIDATION_PAYLOAD_TYPE, Validation
from expunge.core.errors import IntegrityError, UsageError
from tests.support.tamper_fixtures import (
    AUDITOR,
    STATION,
    STRANGER,
    sample_certificate,
    sample_drive_certificate,
)

TRUST = (
    TrustStore()
    .with_key(STATION.public_key(), "station")
    .with_key(AUDITOR.public_key(), "auditor", Role.AUDITOR)
)
AUDITOR_PERSON = Person("Bea Auditor", "Internal audit", "Example Agency", "Bonn")


def _countersigned(
    certificate: Certificate | None = None,
    key: Ed25519PrivateKey = AUDITOR,
    note: str = "checked",
) -> Envelope:
    envelope = sign_certificate(certificate or sample_certificate(), STATION)
    return countersign(
        verify_envelope(envelope, TRUST.station_keys),
        key,
        validator=AUDITOR_PERSON,
        note=note,
        signed_at="2026-03-03T10:00:00Z",
    )


def test_a_countersignature_names_the_auditor_and_verifies() -> None:
    envelope = _countersigned()
    check = verify_certificate(envelope.to_json(), TRUST, require_countersign=True)

    assert check.ok
    assert check.countersigners == (keyid(AUDITOR.public_key()),)
    validation = check.countersignatures[0].validation
    assert validation is not None
    assert validation.validator == AUDITOR_PERSON
    assert validation.note == "checked"
    assert validation.certificate_sha256 == sample_certificate().digest


def test_the_primary_signature_is_unchanged_by_countersigning() -> None:
    plain = sign_certificate(sample_certificate(), STATION)
    countersigned = _countersigned()
    assert countersigned.signatures == plain.signatures
    assert countersigned.payload == plain.payload
    nested = json.loads(countersigned.to_json())["countersignatures"][0]
    assert nested["payloadType"] == VALIDATION_PAYLOAD_TYPE


def test_require_countersign_fails_without_one() -> None:
    envelope = sign_certificate(sample_certificate(), STATION)
    check = verify_certificate(envelope.to_json(), TRUST, require_countersign=True)
    assert not check.ok
    assert [f.reason for f in check.reasons] == [Reason.COUNTERSIGNATURE_MISSING]
    assert verify_certificate(envelope.to_json(), TRUST).ok


def test_a_countersignature_by_an_unknown_key_is_reported_not_counted() -> None:
    envelope = _countersigned(key=STRANGER)
    check = verify_certificate(envelope.to_json(), TRUST)
    assert check.ok
    assert check.countersignatures[0].status is CountersignatureStatus.UNKNOWN_KEY
    assert check.countersignatures[0].validation is None
    required = verify_certificate(envelope.to_json(), TRUST, require_countersign=True)
    assert [f.reason for f in required.reasons] == [Reason.COUNTERSIGNATURE_MISSING]


@pytest.mark.parametrize("trusted_auditor", [True, False])
def test_a_countersignature_copied_from_another_certificate_is_rejected(
    trusted_auditor: bool,
) -> None:
    donor = _countersigned(sample_drive_certificate(), key=AUDITOR if trusted_auditor else STRANGER)
    victim = sign_certificate(sample_certificate(), STATION)
    grafted = replace(victim, countersignatures=donor.countersignatures)

    check = verify_certificate(grafted.to_json(), TRUST)

    assert not check.ok
    assert check.countersignatures[0].status is CountersignatureStatus.INVALID
    assert check.reasons[0].reason is Reason.COUNTERSIGNATURE_INVALID
    assert "validates another certificate" in check.reasons[0].message


def test_an_altered_validation_is_rejected() -> None:
    envelope = _countersigned(note="checked")
    nested = envelope.countersignatures[0]
    forged = replace(nested, payload=nested.payload.replace(b"checked", b"ignored"))
    check = verify_certificate(replace(envelope, countersignatures=(forged,)).to_json(), TRUST)
    assert [f.reason for f in check.reasons] == [Reason.COUNTERSIGNATURE_INVALID]


def test_the_station_cannot_validate_its_own_certificate() -> None:
    with pytest.raises(UsageError, match="own signing key"):
        _countersigned(key=STATION)


def test_an_auditor_validates_once() -> None:
    envelope = _countersigned()
    with pytest.raises(UsageError, match="already countersigned"):
        countersign(
            verify_envelope(envelope, TRUST.station_keys),
            AUDITOR,
            validator=AUDITOR_PERSON,
            note="again",
            signed_at="2026-03-04T10:00:00Z",
        )


def test_two_auditors_both_count() -> None:
    envelope = _countersigned()
    both = countersign(
        verify_envelope(envelope, TRUST.station_keys),
        STRANGER,
        validator=Person("C", "", "", ""),
        note="",
        signed_at="2026-03-04T10:00:00Z",
    )
    trust = TRUST.with_key(STRANGER.public_key(), "second auditor", Role.AUDITOR)
    check = verify_certificate(Envelope.from_json(both.to_json()).to_json(), trust)
    assert len(check.countersigners) == 2


def test_validation_statement_is_strict() -> None:
    statement = _countersigned().countersignatures[0].payload
    assert Validation.from_json(statement).canonical() == statement
    data = json.loads(statement) | {"role": "approval"}
    with pytest.raises(IntegrityError, match="role"):
        Validation.from_dict(data, "validation")


def _self_countersigned(key: Ed25519PrivateKey) -> Envelope:
    """A validation made by hand with ``key``, past the refusal of ``countersign``."""
    envelope = sign_certificate(sample_certificate(), STATION)
    statement = Validation(
        certificate_sha256=sample_certificate().digest,
        certificate_id=sample_certificate().certificate_id,
        validator=AUDITOR_PERSON,
        note="self",
        signed_at="2026-03-03T10:00:00Z",
    )
    nested = sign_envelope(statement.canonical(), key, VALIDATION_PAYLOAD_TYPE)
    return replace(envelope, countersignatures=(nested,))


def test_a_countersignature_by_the_signer_never_counts_even_as_a_trusted_auditor() -> None:
    forged = _self_countersigned(STATION).to_json()
    # Whatever roles the station key is given, it cannot validate its own certificate.
    for trust in (TRUST, TRUST.with_key(STATION.public_key(), "also auditor", Role.AUDITOR)):
        check = verify_certificate(forged, trust, require_countersign=True)
        assert not check.ok
        assert check.countersigners == ()
        assert check.countersignatures[0].status is CountersignatureStatus.INVALID
        assert "own signing key" in (check.countersignatures[0].problem or "")


def test_a_countersignature_by_a_station_key_is_not_an_auditors() -> None:
    other_station = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    trust = TRUST.with_key(other_station.public_key(), "another station")
    check = verify_certificate(
        _countersigned(key=other_station).to_json(), trust, require_countersign=True
    )
    assert check.countersignatures[0].status is CountersignatureStatus.UNKNOWN_KEY
    assert [f.reason for f in check.reasons] == [Reason.COUNTERSIGNATURE_MISSING]


def test_a_certificate_signed_by_an_auditor_key_does_not_verify() -> None:
    forged = sign_certificate(sample_certificate(), AUDITOR).to_json()
    check = verify_certificate(forged, TRUST)
    assert not check.ok
    assert check.reasons[0].reason is Reason.UNKNOWN_KEY
