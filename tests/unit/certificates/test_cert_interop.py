"""An independent DSSE implementation (securesystemslib) verifies expunge envelopes."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey

from expunge.certificates import (
    PAYLOAD_TYPE,
    Envelope,
    Person,
    countersign,
    keyid,
    public_key_pem,
    sign_certificate,
    verify_envelope,
)
from tests.support.tamper_fixtures import AUDITOR, STATION, sample_certificate


def _sslib_key(pem: bytes) -> SSlibKey:
    """The auditor's view: only the exported PEM, with expunge's keyid convention."""
    public = load_pem_public_key(pem)
    assert isinstance(public, Ed25519PublicKey)
    return SSlibKey.from_crypto(public, keyid=keyid(public))


def _countersigned() -> bytes:
    envelope = sign_certificate(sample_certificate(), STATION)
    trusted = {keyid(STATION.public_key()): STATION.public_key()}
    return countersign(
        verify_envelope(envelope, trusted),
        AUDITOR,
        validator=Person("A", "B", "C", "D"),
        note="ok",
        signed_at="2026-03-03T10:00:00Z",
    ).to_json()


def test_securesystemslib_verifies_the_primary_signature() -> None:
    envelope_file = _countersigned()
    sslib = SslibEnvelope.from_dict(json.loads(envelope_file))
    key = _sslib_key(public_key_pem(STATION.public_key()))

    accepted = sslib.verify([key], threshold=1)

    assert set(accepted) == {key.keyid}
    assert sslib.payload_type == PAYLOAD_TYPE
    assert json.loads(sslib.payload)["certificate_id"] == sample_certificate().certificate_id


def test_securesystemslib_verifies_a_countersignature_as_its_own_envelope() -> None:
    nested = json.loads(_countersigned())["countersignatures"][0]
    sslib = SslibEnvelope.from_dict(nested)
    key = _sslib_key(public_key_pem(AUDITOR.public_key()))

    assert set(sslib.verify([key], threshold=1)) == {key.keyid}


def test_securesystemslib_rejects_an_altered_expunge_envelope() -> None:
    envelope = sign_certificate(sample_certificate(), STATION)
    altered = replace(envelope, payload=envelope.payload.replace(b"SECRET", b"PUBLIC"))
    sslib = SslibEnvelope.from_dict(json.loads(altered.to_json()))
    key = _sslib_key(public_key_pem(STATION.public_key()))

    with pytest.raises(VerificationError):
        sslib.verify([key], threshold=1)


def test_expunge_verifies_an_envelope_signed_by_securesystemslib() -> None:
    payload = sample_certificate().canonical()
    signer = CryptoSigner(STATION, _sslib_key(public_key_pem(STATION.public_key())))
    sslib = SslibEnvelope(payload, PAYLOAD_TYPE, {})
    sslib.sign(signer)

    envelope = Envelope.from_json(json.dumps(sslib.to_dict()).encode())
    verified = verify_envelope(envelope, {keyid(STATION.public_key()): STATION.public_key()})

    assert verified.certificate == sample_certificate()
