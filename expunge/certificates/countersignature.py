"""An auditor's validation of a certificate: a countersignature bound to that certificate.

The auditor signs, as its own DSSE envelope, a canonical statement naming the SHA-256 of
the certificate payload, the certificate id, the validator, a note and the time. The
statement rides in the certificate envelope's ``countersignatures`` array (see
``expunge.certificates.dsse``). Because the digest is inside what the auditor signed, a
countersignature copied onto another certificate names the wrong digest and is rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from expunge.certificates._strict import (
    check_hex,
    check_timestamp,
    field_names,
    is_canonical,
    loads_noting_numbers,
    located,
)
from expunge.certificates.dsse import Envelope, keyid, sign_envelope
from expunge.certificates.model import Person
from expunge.certificates.reasons import CertificateError
from expunge.certificates.verified import VerifiedEnvelope, verify_signatures
from expunge.core.canonical import canonical_bytes
from expunge.core.errors import IntegrityError, UsageError
from expunge.core.strictjson import Fields

VALIDATION_PAYLOAD_TYPE = "application/vnd.expunge.validation+json"
VALIDATION_SCHEMA_ID = "https://expunge.dev/validation/v1"
VALIDATION_SCHEMA_VERSION = 1
VALIDATION_ROLE = "validation"


@dataclass(frozen=True)
class Validation:
    """What an auditor signs: "I validated the certificate with this digest"."""

    certificate_sha256: str
    certificate_id: str
    validator: Person
    note: str
    signed_at: str

    def __post_init__(self) -> None:
        check_hex(self.certificate_sha256, "certificate_sha256", 32)
        check_timestamp(self.signed_at, "signed_at")

    def to_dict(self) -> dict[str, Any]:
        """JSON form with its schema, version and role."""
        return {
            "schema": VALIDATION_SCHEMA_ID,
            "version": VALIDATION_SCHEMA_VERSION,
            "role": VALIDATION_ROLE,
            "certificate_sha256": self.certificate_sha256,
            "certificate_id": self.certificate_id,
            "validator": self.validator.to_dict(),
            "note": self.note,
            "signed_at": self.signed_at,
        }

    def canonical(self) -> bytes:
        """RFC 8785 bytes: the countersignature's payload."""
        return canonical_bytes(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes) -> Validation:
        """Strictly parse a validation statement (canonical form required)."""
        parsed, numbers_alike = loads_noting_numbers(data, "validation")
        validation = cls.from_dict(parsed, "validation")
        if not is_canonical(parsed, data, numbers_alike):
            raise IntegrityError("validation is not in canonical (RFC 8785) form")
        return validation

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> Validation:
        """Strictly read the JSON form."""
        f = Fields(data, where, _VALIDATION_FIELDS)
        if f.raw("schema") != VALIDATION_SCHEMA_ID or f.raw("version") != VALIDATION_SCHEMA_VERSION:
            raise IntegrityError(f"{where} has an unknown schema or version")
        if f.raw("role") != VALIDATION_ROLE:
            raise IntegrityError(f"{where}.role must be {VALIDATION_ROLE!r}")
        return cls(
            certificate_sha256=f.text("certificate_sha256"),
            certificate_id=f.text("certificate_id"),
            validator=Person.from_dict(f.raw("validator"), f"{where}.validator"),
            note=f.text("note"),
            signed_at=f.text("signed_at"),
        )


_VALIDATION_FIELDS = field_names(Validation, "schema", "version", "role")


def countersign(
    verified: VerifiedEnvelope,
    private_key: Ed25519PrivateKey,
    *,
    validator: Person,
    note: str,
    signed_at: str,
) -> Envelope:
    """The envelope with the auditor's validation added.

    Takes a ``VerifiedEnvelope`` so that nothing is countersigned unverified. Refuses the
    station's own key (a validation must come from someone else) and a second validation
    by the same key.
    """
    auditor = keyid(private_key.public_key())
    envelope = verified.envelope
    if auditor == verified.signer:
        raise UsageError(
            "the certificate's own signing key cannot validate it",
            remedy="countersign with the auditor's key (--key AUDITOR_KEY)",
        )
    if any(c.signatures[0].keyid == auditor for c in envelope.countersignatures):
        raise UsageError(
            f"already countersigned by key {auditor}",
            remedy="each auditor validates a certificate once",
        )
    statement = Validation(
        certificate_sha256=verified.digest,
        certificate_id=verified.certificate.certificate_id,
        validator=validator,
        note=note,
        signed_at=signed_at,
    )
    nested = sign_envelope(statement.canonical(), private_key, VALIDATION_PAYLOAD_TYPE)
    return replace(envelope, countersignatures=(*envelope.countersignatures, nested))


class CountersignatureStatus(StrEnum):
    """How a countersignature fared."""

    VALID = "valid"
    """Signed by a trusted key, bound to this certificate."""
    UNKNOWN_KEY = "unknown-key"
    """Bound to this certificate, but by a key not trusted as an auditor's: not counted."""
    INVALID = "invalid"
    """Forged, altered, malformed, or bound to another certificate."""


@dataclass(frozen=True)
class CountersignatureCheck:
    """The result of checking one countersignature.

    ``validation`` is set only when the signature verified under a trusted key; ``problem``
    says what is wrong with an invalid one.
    """

    keyid: str
    trusted: bool
    validation: Validation | None
    problem: str | None

    @property
    def status(self) -> CountersignatureStatus:
        """Valid, unverifiable (unknown key), or invalid."""
        if self.problem is not None:
            return CountersignatureStatus.INVALID
        if not self.trusted:
            return CountersignatureStatus.UNKNOWN_KEY
        return CountersignatureStatus.VALID

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``cert verify --json``."""
        return {
            "keyid": self.keyid,
            "status": self.status.value,
            "problem": self.problem,
            "validation": None if self.validation is None else self.validation.to_dict(),
        }


def check_countersignature(
    nested: Envelope,
    certificate_sha256: str,
    auditor_keys: Mapping[str, Ed25519PublicKey],
    *,
    signer: str,
) -> CountersignatureCheck:
    """Check one countersignature against the certificate payload's digest.

    ``auditor_keys`` are the keys trusted to validate; ``signer`` is the keyid that signed
    the certificate, whose own countersignature is invalid (nobody validates their own
    work), whatever roles its key has. For a trusted key the signature is verified before
    the statement is parsed; for an unknown key the statement is still parsed to check its
    binding (a copied one is invalid whoever signed it), but its contents are not returned.
    """
    by = nested.signatures[0].keyid
    trusted = by in auditor_keys

    def invalid(problem: str) -> CountersignatureCheck:
        return CountersignatureCheck(by, trusted, None, problem)

    if by == signer:
        return invalid("made with the certificate's own signing key: a signer cannot validate")
    if nested.payload_type != VALIDATION_PAYLOAD_TYPE:
        return invalid(f"payloadType is {nested.payload_type!r}, not {VALIDATION_PAYLOAD_TYPE!r}")
    if len(nested.signatures) != 1:
        return invalid("a countersignature carries exactly one signature")
    if trusted:
        try:
            verify_signatures(nested, auditor_keys)
        except CertificateError as exc:
            return invalid(exc.message)
    try:
        statement = Validation.from_json(nested.payload)
    except IntegrityError as exc:
        return invalid(exc.message)
    if statement.certificate_sha256 != certificate_sha256:
        return invalid(
            f"it validates another certificate ({statement.certificate_id},"
            f" sha256 {statement.certificate_sha256}), not this one"
        )
    return CountersignatureCheck(by, trusted, statement if trusted else None, None)
