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
    TrustStore,
    countersign,
    keyid,
    sign_certificate,
    verify_certificate,
    verify_envelope,
)
from expunge.certificates.countersign import VALIDATION_PAYLOAD_TYPE, Validation
from expunge.core.errors import IntegrityError, UsageError
from tests.support.tamper_fixtures import (
    AUDITOR,
    STATION,
    STRANGER,
    sample_certificate,
    sample_drive_certificate,
)

TRUST = (
    TrustStore().with_key(STATION.public_key(), "station").with_key(AUDITOR.public_key(), "auditor")
)
AUDITOR_PERSON = Person("Bea Auditor", "Internal audit", "Example Agency", "Bonn")


def _countersigned(
    certificate: Certificate | None = None,
    key: Ed25519PrivateKey = AUDITOR,
    note: str = "checked",
) -> Envelope:
    envelope = sign_certificate(certificate or sample_certificate(), STATION)
    return countersign(
        verify_envelope(envelope, TRUST.public_keys),
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
            verify_envelope(envelope, TRUST.public_keys),
            AUDITOR,
            validator=AUDITOR_PERSON,
            note="again",
            signed_at="2026-03-04T10:00:00Z",
        )


def test_two_auditors_both_count() -> None:
    envelope = _countersigned()
    both = countersign(
        verify_envelope(envelope, TRUST.public_keys),
        STRANGER,
        validator=Person("C", "", "", ""),
        note="",
        signed_at="2026-03-04T10:00:00Z",
    )
    trust = TRUST.with_key(STRANGER.public_key(), "second auditor")
    check = verify_certificate(Envelope.from_json(both.to_json()).to_json(), trust)
    assert len(check.countersigners) == 2


def test_validation_statement_is_strict() -> None:
    statement = _countersigned().countersignatures[0].payload
    assert Validation.from_json(statement).canonical() == statement
    data = json.loads(statement) | {"role": "approval"}
    with pytest.raises(IntegrityError, match="role"):
        Validation.from_dict(data, "validation")
