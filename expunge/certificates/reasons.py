"""Why a certificate was not accepted: one code per kind of failure, and the error carrying it.

The codes are stable strings (they appear in ``cert verify --json``), so scripts can tell an
unknown key (add it to the trust store) from a forged signature (call security).
"""

from __future__ import annotations

from enum import StrEnum

from expunge.core.errors import IntegrityError


class Reason(StrEnum):
    """What was wrong with a certificate envelope, most fundamental first."""

    UNREADABLE = "unreadable"
    """The file could not be read at all."""
    MALFORMED = "malformed"
    """The envelope is not a well-formed DSSE envelope (JSON, fields, base64)."""
    WRONG_PAYLOAD_TYPE = "wrong-payload-type"
    """The envelope carries something other than an expunge certificate."""
    UNKNOWN_KEY = "unknown-key"
    """No signature is by a key in the trust store."""
    BAD_SIGNATURE = "bad-signature"
    """A signature by a trusted key does not verify: the envelope was altered or forged."""
    INVALID_CERTIFICATE = "invalid-certificate"
    """The signed payload is not a valid certificate (a signer bug, or a compromised key)."""
    UNSUPPORTED_SCHEMA = "unsupported-schema"
    """The certificate uses a schema or version this expunge does not know."""
    OUTCOME_NOT_SUCCESS = "outcome-not-success"
    """The certificate is genuine but records a destruction that did not succeed."""
    COUNTERSIGNATURE_INVALID = "countersignature-invalid"
    """A countersignature is forged, altered, or bound to a different certificate."""
    COUNTERSIGNATURE_MISSING = "countersignature-missing"
    """A countersignature by a trusted key was required and there is none."""


class CertificateError(IntegrityError):
    """An envelope or certificate failed a check; ``reason`` says which."""

    def __init__(
        self,
        reason: Reason,
        message: str,
        *,
        target: str | None = None,
        remedy: str | None = None,
    ):
        super().__init__(message, target=target, remedy=remedy)
        self.reason = reason
