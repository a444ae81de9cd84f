"""What the audit takes from a certificate: whose key each key erasure destroyed, for
certificates with the structured fields and for those issued before them; and the
verdict on certificates read by the fast reader of file certificates, tampered ones
above all."""

from __future__ import annotations

from dataclasses import replace

import pytest

from expunge.certificates import (
    FileSubject,
    KeyErasure,
    SubjectRecord,
    keyid,
    sign_certificate,
    sign_envelope,
)
from expunge.workflows.audit.verdicts import Facts, Verdict, Verifier
from tests.support.tamper_fixtures import INTRUDER, STATION, sample_certificate


def _erasing(erasure: KeyErasure, document_id: str | None = "DOC-A") -> Facts:
    keystore = FileSubject("/home/keystore.db", 8192, 7, 2049, "ext4", None, document_id)
    record = SubjectRecord(keystore, 0, (), (), None, erasure)
    certificate = replace(sample_certificate(), subjects=(record,))
    return Facts.of(certificate, "ab" * 32)


@pytest.mark.parametrize(
    ("erasure", "document_id", "expected"),
    [
        # Structured: the fields say it, whatever the text.
        (KeyErasure("sealed-document", "anything", True, "DOC-A", "k-1"), None, ("DOC-A", "k-1")),
        # Issued before the fields existed: the key reference they wrote, tied to the subject.
        (
            KeyErasure("sealed-document", "document key k-1 of DOC-A", True),
            "DOC-A",
            ("DOC-A", "k-1"),
        ),
        (
            KeyErasure("sealed-document", "document key k-1 of DOC-B", True),
            "DOC-A",
            ("DOC-A", None),
        ),
        (KeyErasure("luks", "keyslots 0-31", True), None, (None, None)),
    ],
)
def test_key_erasures_say_whose_key(
    erasure: KeyErasure, document_id: str | None, expected: tuple[str | None, str | None]
) -> None:
    assert _erasing(erasure, document_id).key_erasures == (expected,)


def test_a_key_that_was_not_destroyed_is_no_erasure() -> None:
    kept = KeyErasure("sealed-document", "x", False, "DOC-A", "k-1")
    assert _erasing(kept).key_erasures == ()


_KEYS = {keyid(STATION.public_key()): STATION.public_key()}


def _verdict(payload: bytes) -> Verdict:
    return Verifier(_KEYS).envelope(sign_envelope(payload, STATION))


def test_a_file_certificate_read_fast_has_the_facts_the_model_gives() -> None:
    certificate = sample_certificate()
    envelope = sign_certificate(certificate, STATION)
    assert Verifier(_KEYS).envelope(envelope) == (
        Facts.of(certificate, envelope.payload_sha256),
        None,
    )


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        # Signed by the station, but the outcome is not what the records say.
        (b'"outcome":"success"', b'"outcome":"partial"', "outcome says partial"),
        # A verification whose status lies about its counts.
        (b'"mismatches":0', b'"mismatches":1', "the counts say failed"),
        # A duplicate key, and a whole number written as a float: not canonical.
        (b'{"certificate_id":', b'{"target":"x","certificate_id":', "duplicate key"),
        (b'"seconds":8.5', b'"seconds":8.50', "canonical"),
        (b'"seconds":8.5', b'"seconds":8e0', "canonical"),
    ],
)
def test_a_signed_but_invalid_certificate_is_refused(old: bytes, new: bytes, words: str) -> None:
    payload = sample_certificate().canonical()
    assert old in payload
    facts, failure = _verdict(payload.replace(old, new, 1))
    assert facts is None
    assert failure is not None
    assert failure.startswith("invalid-certificate:")
    assert words in failure


def test_a_changed_byte_in_a_signed_envelope_fails_its_signature() -> None:
    envelope = sign_certificate(sample_certificate(), STATION)
    payload = envelope.payload.replace(b'"removed":true', b'"removed":null', 1)
    assert payload != envelope.payload
    facts, failure = Verifier(_KEYS).envelope(replace(envelope, payload=payload))
    assert facts is None
    assert failure is not None
    assert failure.startswith("bad-signature:")


def test_a_certificate_signed_by_an_unknown_key_is_refused() -> None:
    envelope = sign_certificate(sample_certificate(), INTRUDER)
    facts, failure = Verifier(_KEYS).envelope(envelope)
    assert facts is None
    assert failure is not None
    assert failure.startswith("unknown-key:")
