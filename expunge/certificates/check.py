"""``cert verify``: is this a genuine certificate, by a trusted station, of a success?

``verify_certificate`` never raises for a bad certificate: it returns a ``CertificateCheck``
whose ``reasons`` say precisely what is wrong and whose ``ok`` is computed from them, so a
batch of certificates is checked to the end and each gets its own verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expunge.certificates.countersignature import (
    CountersignatureCheck,
    CountersignatureStatus,
    check_countersignature,
)
from expunge.certificates.dsse import Envelope
from expunge.certificates.model import Certificate
from expunge.certificates.reasons import CertificateError, Reason
from expunge.certificates.trust import TrustStore
from expunge.certificates.verified import verify_envelope
from expunge.core.errors import EXIT_INTEGRITY, EXIT_OK, EXIT_TARGET, EXIT_VERIFICATION
from expunge.core.outcome import Outcome


@dataclass(frozen=True)
class Finding:
    """One reason a certificate is not accepted, with what to do about it."""

    reason: Reason
    message: str
    remedy: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"reason": self.reason.value, "message": self.message, "remedy": self.remedy}


@dataclass(frozen=True)
class CertificateCheck:
    """The verdict on one certificate envelope.

    ``failure`` is why the envelope could not be accepted at all (then ``certificate`` is
    ``None``); ``certificate`` is set only once its signature verified under a trusted key.
    """

    certificate: Certificate | None
    signer: str | None
    certificate_sha256: str | None
    countersignatures: tuple[CountersignatureCheck, ...]
    require_countersign: bool
    failure: Finding | None = None

    @property
    def countersigners(self) -> tuple[str, ...]:
        """Keyids of the trusted auditors whose validations verified (never the signer)."""
        return tuple(
            c.keyid for c in self.countersignatures if c.status is CountersignatureStatus.VALID
        )

    @property
    def reasons(self) -> tuple[Finding, ...]:
        """Everything wrong, most fundamental first; empty when the certificate is ok."""
        if self.failure is not None:
            return (self.failure,)
        found: list[Finding] = []
        if self.certificate is not None and self.certificate.outcome is not Outcome.SUCCESS:
            found.append(
                Finding(
                    Reason.OUTCOME_NOT_SUCCESS,
                    f"the certificate is genuine but records outcome {self.certificate.outcome}",
                    "the destruction must be repeated before it can be relied on",
                )
            )
        for check in self.countersignatures:
            if check.status is CountersignatureStatus.INVALID:
                found.append(
                    Finding(
                        Reason.COUNTERSIGNATURE_INVALID,
                        f"countersignature by key {check.keyid} is invalid: {check.problem}",
                        "remove it, or obtain the validated original",
                    )
                )
        if self.require_countersign and not self.countersigners:
            found.append(
                Finding(
                    Reason.COUNTERSIGNATURE_MISSING,
                    "no countersignature by a trusted auditor key",
                    "have an auditor run expunge cert countersign, and trust their key with "
                    "--trust-auditor (or in <home>/trusted/auditors/)",
                )
            )
        return tuple(found)

    @property
    def ok(self) -> bool:
        """Signed by a trusted key, a valid success certificate, countersigned if required."""
        return self.certificate is not None and self.signer is not None and not self.reasons

    @property
    def exit_code(self) -> int:
        """0 when ok; 4 when the file could not be read (nothing was judged); 5 when only
        the recorded outcome is not success; else 7."""
        reasons = {f.reason for f in self.reasons}
        if not reasons:
            return EXIT_OK
        if reasons == {Reason.UNREADABLE}:
            return EXIT_TARGET
        if reasons == {Reason.OUTCOME_NOT_SUCCESS}:
            return EXIT_VERIFICATION
        return EXIT_INTEGRITY

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``cert verify --json``."""
        certificate = self.certificate
        return {
            "ok": self.ok,
            "reasons": [f.to_dict() for f in self.reasons],
            "signer": self.signer,
            "certificate_sha256": self.certificate_sha256,
            "certificate_id": None if certificate is None else certificate.certificate_id,
            "outcome": None if certificate is None else certificate.outcome.value,
            "countersignatures": [c.to_dict() for c in self.countersignatures],
            "certificate": None if certificate is None else certificate.to_dict(),
        }


def _failed(error: CertificateError, require_countersign: bool) -> CertificateCheck:
    return CertificateCheck(
        certificate=None,
        signer=None,
        certificate_sha256=None,
        countersignatures=(),
        require_countersign=require_countersign,
        failure=Finding(error.reason, error.message, error.remedy),
    )


def verify_certificate(
    envelope_bytes: bytes, trust: TrustStore, *, require_countersign: bool = False
) -> CertificateCheck:
    """Verify an envelope file's bytes against ``trust``.

    The envelope is parsed strictly, the signature checked over the exact payload bytes
    under the trusted *station* keys, and only then the certificate parsed; every
    countersignature is checked against the payload's digest under the trusted *auditor*
    keys (one made with the certificate's own signing key never counts).
    """
    try:
        envelope = Envelope.from_json(envelope_bytes)
        verified = verify_envelope(envelope, trust.station_keys)
    except CertificateError as exc:
        return _failed(exc, require_countersign)
    return CertificateCheck(
        certificate=verified.certificate,
        signer=verified.signer,
        certificate_sha256=verified.digest,
        countersignatures=tuple(
            check_countersignature(c, verified.digest, trust.auditor_keys, signer=verified.signer)
            for c in envelope.countersignatures
        ),
        require_countersign=require_countersign,
    )


def verify_certificate_file(
    path: Path, trust: TrustStore, *, require_countersign: bool = False
) -> CertificateCheck:
    """``verify_certificate`` on a file; an unreadable file is a finding, not an exception."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        error = CertificateError(
            Reason.UNREADABLE,
            f"cannot read {path}: {exc.strerror}",
            remedy="check the path and permissions",
        )
        return _failed(error, require_countersign)
    return verify_certificate(data, trust, require_countersign=require_countersign)
