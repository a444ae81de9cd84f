"""``cert attest``: a certificate as an in-toto attestation (Statement v1 in DSSE).

Attestation tooling (the ``in-toto`` package, cosign ``verify-blob-attestation``, policy
engines) reads in-toto Statements, not expunge's own payload type. The attestation is::

    DSSE envelope, payloadType "application/vnd.in-toto+json", payload = RFC 8785 bytes of
    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": ..., "digest": {"sha256": ...}, "annotations": {...}}, ...],
     "predicateType": "https://expunge.dev/certificate/v1",
     "predicate": <the certificate payload, as signed in the .cert.json>}

signed with Ed25519 over the DSSE PAE of those exact bytes by the key that signed the
certificate. The signature's ``keyid`` follows securesystemslib's convention (see
``keyinfo.securesystemslib_keyid``), so in-toto's verifiers find the key under its usual id.

A subject's ``sha256`` digests its *identity*: what was destroyed cannot be hashed any
more. It is the SHA-256 of the RFC 8785 JSON of the subject's identity fields (see
``subject_identity``); an auditor holding the drive (or the file's record) recomputes it.
A file's content digest taken before the wipe, when the certificate has one, is BLAKE3:
it goes into the subject's ``annotations`` (``content_blake3``), not into ``digest``, whose
entries must all be digests of one artifact.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge.certificates.drive_facts import DriveSubject
from expunge.certificates.dsse import Envelope, Signature, keyid, pae
from expunge.certificates.keyinfo import securesystemslib_keyid
from expunge.certificates.model import SCHEMA_ID
from expunge.certificates.subjects import FileSubject, SubjectRecord
from expunge.certificates.verified import VerifiedEnvelope
from expunge.core.canonical import canonical_bytes, strict_loads
from expunge.core.errors import RefusedError
from expunge.core.sha256 import sha256_hex

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
ATTESTATION_PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = SCHEMA_ID

_FILE_IDENTITY: tuple[str, ...] = ("path", "size", "inode", "device")
_DRIVE_IDENTITY = ("vendor", "model", "serial", "wwn", "size")
_FREE_SPACE_IDENTITY = ("mountpoint", "source", "filesystem", "device")


def subject_identity(record: SubjectRecord) -> tuple[str, dict[str, Any]]:
    """A subject's name in the statement and the identity fields its ``sha256`` digests.

    file: ``{"kind": "file", "path", "size", "inode", "device"}`` (``path`` as recorded);
    drive: ``{"kind": "drive", "vendor", "model", "serial", "wwn", "size"}`` (null where
    the drive has none); free space: ``{"kind": "free-space", "mountpoint", "source",
    "filesystem", "device"}``.
    """
    subject = record.subject
    if isinstance(subject, FileSubject):
        name, fields = subject.path, _FILE_IDENTITY
    elif isinstance(subject, DriveSubject):
        name, fields = f"drive:{subject.identity_token}", _DRIVE_IDENTITY
    else:
        name, fields = subject.name, _FREE_SPACE_IDENTITY
    return name, {"kind": subject.KIND, **{f: getattr(subject, f) for f in fields}}


def _descriptor(record: SubjectRecord) -> dict[str, Any]:
    name, identity = subject_identity(record)
    descriptor: dict[str, Any] = {
        "name": name,
        "digest": {"sha256": sha256_hex(canonical_bytes(identity))},
    }
    subject = record.subject
    if isinstance(subject, FileSubject) and subject.content_blake3:
        descriptor["annotations"] = {"content_blake3": subject.content_blake3}
    return descriptor


def statement(verified: VerifiedEnvelope) -> dict[str, Any]:
    """The in-toto Statement v1 of a verified certificate; the predicate is its payload."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [_descriptor(record) for record in verified.certificate.subjects],
        "predicateType": PREDICATE_TYPE,
        "predicate": strict_loads(verified.envelope.payload, what="certificate"),
    }


def attest(verified: VerifiedEnvelope, private_key: Ed25519PrivateKey) -> Envelope:
    """The signed attestation of ``verified``, by the key that signed the certificate.

    Refuses (``RefusedError``) another key: the attestation restates what the certificate's
    signer certified, so only that signer makes it. A certificate without subjects (nothing
    was destroyed) has nothing to attest: refused too.
    """
    public = private_key.public_key()
    if keyid(public) != verified.signer:
        raise RefusedError(
            f"this station's key {keyid(public)} did not sign the certificate",
            remedy=f"attest it on the station whose key {verified.signer} signed it",
        )
    if not verified.certificate.subjects:
        raise RefusedError(
            "the certificate has no subjects: an in-toto statement needs at least one",
            remedy="there is nothing destroyed to attest",
        )
    payload = canonical_bytes(statement(verified))
    signature = Signature(
        keyid=securesystemslib_keyid(public),
        sig=private_key.sign(pae(ATTESTATION_PAYLOAD_TYPE, payload)),
    )
    return Envelope(payload_type=ATTESTATION_PAYLOAD_TYPE, payload=payload, signatures=(signature,))
