"""Attestations verify with in-toto and securesystemslib as they stand, and only unaltered."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import rfc8785
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from in_toto.models.metadata import Envelope as InTotoEnvelope
from in_toto.models.metadata import Metadata
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

from expunge.certificates import (
    Certificate,
    TrustStore,
    VerifiedEnvelope,
    sign_certificate,
    verify_envelope,
)
from expunge.certificates.attest import (
    ATTESTATION_PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    attest,
)
from expunge.certificates.keyinfo import openssh_fingerprint, securesystemslib_keyid
from expunge.core.errors import RefusedError
from tests.support import need_tool
from tests.support.tamper_fixtures import (
    STATION,
    STRANGER,
    sample_certificate,
    sample_drive_certificate,
)

TRUST = TrustStore().with_key(STATION.public_key(), "station")
STATION_KEY = SSlibKey.from_crypto(STATION.public_key())


def _verified(certificate: Certificate) -> VerifiedEnvelope:
    return verify_envelope(sign_certificate(certificate, STATION), TRUST.station_keys)


def _attestation(tmp_path: Path, certificate: Certificate) -> Path:
    path = tmp_path / "attestation.json"
    path.write_bytes(attest(_verified(certificate), STATION).to_json())
    return path


def _sslib(data: dict[str, object]) -> SslibEnvelope:
    # securesystemslib rewrites the signatures of the dict it reads: give it a copy.
    return SslibEnvelope.from_dict(copy.deepcopy(data))


def _flip(data: dict[str, str], field: str, bit: int) -> dict[str, str]:
    raw = bytearray(base64.b64decode(data[field]))
    raw[bit // 8] ^= 1 << (bit % 8)
    return {**data, field: base64.b64encode(bytes(raw)).decode()}


def test_in_toto_loads_and_verifies_it_with_the_station_key(tmp_path: Path) -> None:
    envelope = Metadata.load(str(_attestation(tmp_path, sample_certificate())))
    assert isinstance(envelope, InTotoEnvelope)
    assert envelope.payload_type == ATTESTATION_PAYLOAD_TYPE
    # in-toto's own entry point, with the key under securesystemslib's default keyid.
    envelope.verify_signature(STATION_KEY.to_dict() | {"keyid": STATION_KEY.keyid})
    assert set(envelope.verify([STATION_KEY], 1)) == {STATION_KEY.keyid}


def test_securesystemslib_verifies_it_and_rejects_any_one_bit_change(tmp_path: Path) -> None:
    data = json.loads(_attestation(tmp_path, sample_drive_certificate()).read_bytes())
    _sslib(data).verify([STATION_KEY], 1)
    payload_bits = len(base64.b64decode(data["payload"])) * 8
    for bit in (0, 7, payload_bits // 2, payload_bits - 1):
        with pytest.raises(VerificationError):
            _sslib(_flip(data, "payload", bit)).verify([STATION_KEY], 1)
    signature = data["signatures"][0]
    for bit in (0, 255, 511):
        tampered = {**data, "signatures": [_flip(signature, "sig", bit)]}
        with pytest.raises(VerificationError):
            _sslib(tampered).verify([STATION_KEY], 1)
    with pytest.raises(VerificationError):
        _sslib(data).verify([SSlibKey.from_crypto(STRANGER.public_key())], 1)


def test_the_statement_is_the_canonical_certificate_with_identity_digests(
    tmp_path: Path,
) -> None:
    certificate = sample_certificate()
    data = json.loads(_attestation(tmp_path, certificate).read_bytes())
    payload = base64.b64decode(data["payload"])
    statement = json.loads(payload)
    assert payload == rfc8785.dumps(statement)
    assert statement["_type"] == STATEMENT_TYPE == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE
    assert statement["predicate"] == json.loads(certificate.canonical())
    assert len(statement["subject"]) == len(certificate.subjects)
    for described, record in zip(statement["subject"], certificate.subjects, strict=True):
        subject = record.subject.to_dict()
        identity = {k: subject[k] for k in ("kind", "path", "size", "inode", "device")}
        # Recomputed the way the README tells an auditor to: ASCII JSON, sorted keys.
        text = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert described["name"] == subject["path"]
        assert described["digest"] == {"sha256": hashlib.sha256(text.encode()).hexdigest()}
        if subject.get("content_blake3"):
            assert described["annotations"] == {"content_blake3": subject["content_blake3"]}


def test_a_drive_subject_is_named_by_its_identity_token(tmp_path: Path) -> None:
    certificate = sample_drive_certificate()
    statement = json.loads(
        base64.b64decode(json.loads(_attestation(tmp_path, certificate).read_bytes())["payload"])
    )
    (described,) = statement["subject"]
    drive = certificate.subjects[0].subject.to_dict()
    identity = {k: drive[k] for k in ("kind", "vendor", "model", "serial", "wwn", "size")}
    assert described["name"] == f"drive:{drive['identity_token']}"
    assert described["digest"]["sha256"] == hashlib.sha256(rfc8785.dumps(identity)).hexdigest()


def test_only_the_certificates_signer_attests_and_only_to_something() -> None:
    with pytest.raises(RefusedError, match="did not sign the certificate"):
        attest(_verified(sample_certificate()), STRANGER)
    with pytest.raises(RefusedError, match="no subjects"):
        attest(_verified(replace(sample_certificate(), subjects=())), STATION)


def test_key_ids_in_securesystemslib_and_openssh_conventions(tmp_path: Path) -> None:
    public = STATION.public_key()
    assert securesystemslib_keyid(public) == STATION_KEY.keyid
    line = public.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    (tmp_path / "station.pub").write_bytes(line + b"\n")
    listed = subprocess.run(
        [need_tool("ssh-keygen"), "-l", "-E", "sha256", "-f", str(tmp_path / "station.pub")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert listed.split()[1] == openssh_fingerprint(public)
