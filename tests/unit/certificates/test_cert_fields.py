"""The per-job fields (phone, asset tag) are optional: old certificates read and verify
byte for byte, new ones carry the fields, and a null where a field is absent is refused."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from expunge.certificates import (
    Certificate,
    Envelope,
    load_trust,
    sign_certificate,
    verify_certificate_file,
    verify_envelope,
)
from expunge.core.errors import IntegrityError
from tests.support.tamper_fixtures import STATION, sample_certificate

FIXTURES = Path(__file__).with_name("fixtures")


@pytest.mark.parametrize("name", ["valid.cert.json", "valid-drive.cert.json"])
def test_certificates_from_before_the_fields_still_verify_unchanged(name: str) -> None:
    path = FIXTURES / name
    check = verify_certificate_file(path, load_trust([FIXTURES / "trusted"]))
    assert check.ok, check.reasons
    assert check.certificate is not None
    payload = Envelope.from_json(path.read_bytes()).payload
    # Read and written again, the certificate is the same bytes: nothing was added.
    assert check.certificate.canonical() == payload
    assert "phone" not in json.loads(payload)["person"]
    assert "asset_tag" not in json.loads(payload)["media"]
    assert check.certificate.person.phone is None and check.certificate.media.asset_tag is None


def test_new_fields_are_signed_and_read_back() -> None:
    base = sample_certificate()
    certificate = replace(
        base,
        person=replace(base.person, phone="+44 20 7946 0000"),
        media=replace(base.media, asset_tag="PO-2291/7"),
    )
    envelope = sign_certificate(certificate, STATION)
    verified = verify_envelope(envelope, {envelope.signatures[0].keyid: STATION.public_key()})
    assert verified.certificate == certificate
    payload = json.loads(envelope.payload)
    assert payload["person"]["phone"] == "+44 20 7946 0000"
    assert payload["media"]["asset_tag"] == "PO-2291/7"


@pytest.mark.parametrize(("table", "field"), [("person", "phone"), ("media", "asset_tag")])
def test_an_explicit_null_for_an_absent_field_is_not_canonical(table: str, field: str) -> None:
    data = sample_certificate().to_dict()
    data[table][field] = None
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(IntegrityError, match="canonical"):
        Certificate.from_json(raw)
    # A wrong type is named with its path.
    data[table][field] = 7
    with pytest.raises(IntegrityError, match=f"certificate.{table}.{field} must be a string"):
        Certificate.from_dict(data)
