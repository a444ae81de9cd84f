"""DSSE v1: the exact PAE, Ed25519 signatures, strict envelopes, verify before parse."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from expunge.certificates import (
    PAYLOAD_TYPE,
    CertificateError,
    Envelope,
    Reason,
    keyid,
    pae,
    sign_certificate,
    sign_envelope,
    verify_envelope,
)
from tests.support.tamper_fixtures import INTRUDER, STATION, STRANGER, sample_certificate

TRUSTED = {keyid(STATION.public_key()): STATION.public_key()}


def test_pae_is_exactly_the_dsse_v1_encoding() -> None:
    # The worked example of the DSSE v1 protocol specification.
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    # Lengths count bytes, not characters.
    assert pae("t\u00e9", b"\xff") == b"DSSEv1 3 t\xc3\xa9 1 \xff"


def test_keyid_is_sha256_of_the_raw_public_key() -> None:
    raw = STATION.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert len(raw) == 32
    assert keyid(STATION.public_key()) == hashlib.sha256(raw).hexdigest()


def test_signature_covers_the_pae_of_the_payload() -> None:
    envelope = sign_certificate(sample_certificate(), STATION)
    data = json.loads(envelope.to_json())

    assert data["payloadType"] == PAYLOAD_TYPE
    assert base64.b64decode(data["payload"]) == sample_certificate().canonical()
    signature = base64.b64decode(data["signatures"][0]["sig"])
    STATION.public_key().verify(signature, pae(PAYLOAD_TYPE, envelope.payload))
    assert data["signatures"][0]["keyid"] == keyid(STATION.public_key())
    assert set(data) == {"payload", "payloadType", "signatures"}


def test_verified_envelope_carries_certificate_signer_and_digest() -> None:
    envelope = sign_certificate(sample_certificate(), STATION)
    verified = verify_envelope(Envelope.from_json(envelope.to_json()), TRUSTED)

    assert verified.certificate == sample_certificate()
    assert verified.signer == keyid(STATION.public_key())
    assert verified.digest == sample_certificate().digest


def test_signature_is_checked_before_the_payload_is_parsed() -> None:
    """Garbage under a bad signature is reported as a bad signature, not as garbage."""
    genuine = sign_envelope(b"{not json", STATION)
    forged = replace(genuine, signatures=(replace(genuine.signatures[0], sig=bytes(64)),))
    with pytest.raises(CertificateError) as caught:
        verify_envelope(forged, TRUSTED)
    assert caught.value.reason is Reason.BAD_SIGNATURE
    with pytest.raises(CertificateError) as caught:
        verify_envelope(genuine, TRUSTED)
    assert caught.value.reason is Reason.INVALID_CERTIFICATE


def test_a_second_trusted_signature_that_fails_is_rejected() -> None:
    envelope = sign_certificate(sample_certificate(), STATION)
    extra = replace(envelope.signatures[0], keyid=keyid(INTRUDER.public_key()))
    both = replace(envelope, signatures=(*envelope.signatures, extra))
    trusted = TRUSTED | {keyid(INTRUDER.public_key()): INTRUDER.public_key()}
    with pytest.raises(CertificateError) as caught:
        verify_envelope(both, trusted)
    assert caught.value.reason is Reason.BAD_SIGNATURE


def test_untrusted_extra_signatures_are_ignored() -> None:
    envelope = sign_certificate(sample_certificate(), STATION)
    stranger = sign_envelope(envelope.payload, STRANGER).signatures[0]
    both = replace(envelope, signatures=(stranger, *envelope.signatures))
    assert verify_envelope(both, TRUSTED).signer == keyid(STATION.public_key())


def _envelope_dict() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(sign_certificate(sample_certificate(), STATION).to_json())
    return data


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.pop("payload"), "missing field 'payload'"),
        (lambda d: d.pop("signatures"), "missing field 'signatures'"),
        (lambda d: d.update(extra=1), "unknown field 'extra'"),
        (lambda d: d.update(signatures=[]), "signatures is empty"),
        (lambda d: d.update(signatures={}), "must be an array"),
        (lambda d: d["signatures"][0].pop("keyid"), "missing field 'keyid'"),
        (lambda d: d["signatures"][0].update(cert="x"), "unknown field 'cert'"),
        (lambda d: d["signatures"][0].update(sig="AAAA"), "is 3 bytes; Ed25519 signatures are 64"),
        (lambda d: d["signatures"].append(d["signatures"][0]), "two signatures by one key"),
        (lambda d: d.update(payload=d["payload"][:-1] + "!"), "payload is not base64"),
        (lambda d: d.update(payload=d["payload"] + "==="), "misplaced '='"),
        (lambda d: d.update(payloadType=7), "payloadType must be a string"),
        (lambda d: d.update(countersignatures=[]), "countersignatures is empty"),
    ],
)
def test_malformed_envelopes_are_rejected_with_a_specific_reason(change: Any, words: str) -> None:
    data = _envelope_dict()
    change(data)
    with pytest.raises(CertificateError) as caught:
        Envelope.from_json(json.dumps(data).encode())
    assert caught.value.reason is Reason.MALFORMED
    assert words in caught.value.message


@pytest.mark.parametrize("raw", [b"", b"[]", b"null", b"{}x", b'{"payload": NaN}', b"\xff"])
def test_non_envelopes_are_malformed(raw: bytes) -> None:
    with pytest.raises(CertificateError) as caught:
        Envelope.from_json(raw)
    assert caught.value.reason is Reason.MALFORMED


def test_url_safe_unpadded_base64_is_accepted_as_dsse_requires() -> None:
    data = _envelope_dict()
    payload = base64.b64decode(data["payload"])
    data["payload"] = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    envelope = Envelope.from_json(json.dumps(data).encode())
    assert verify_envelope(envelope, TRUSTED).certificate == sample_certificate()


def test_envelope_json_round_trips() -> None:
    envelope = sign_certificate(sample_certificate(), STATION)
    assert Envelope.from_json(envelope.to_json()) == envelope
    assert envelope.to_json().endswith(b"}\n")
