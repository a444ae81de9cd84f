"""``cert show --pdf``: the printed certificate, when the optional PDF packages are there."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from expunge.certificates import (
    CertificateCheck,
    CertificateError,
    TrustStore,
    verify_certificate,
)
from expunge.core.atomic import write_atomic
from expunge.core.clock import rfc3339
from expunge.core.errors import TargetError, UsageError

# What ``expunge[pdf]`` installs; without them every other command still works.
_PDF_PACKAGES = frozenset({"fpdf", "segno"})


def write_pdf(certificate: Path, trust: TrustStore, out: Path) -> CertificateCheck:
    """Check ``certificate`` against ``trust`` now, print it to ``out`` (PDF), return the check.

    A certificate whose signature is by an unknown key or does not verify is printed too,
    under a banner; the caller still reports it as not valid.
    """
    try:
        from expunge.certificates.pdf import render_pdf
    except ModuleNotFoundError as exc:
        if exc.name not in _PDF_PACKAGES:
            raise
        raise UsageError(
            f"PDF output needs the optional package {exc.name}, which is not installed",
            target=str(out),
            remedy="pip install 'expunge[pdf]'",
        ) from None
    try:
        envelope = certificate.read_bytes()
    except OSError as exc:
        raise TargetError(f"cannot read: {exc.strerror}", target=str(certificate)) from None
    check = verify_certificate(envelope, trust)
    checked_at = rfc3339(datetime.now(UTC))
    try:
        pdf = render_pdf(check, envelope, checked_at=checked_at, file_name=certificate.name)
    except CertificateError as exc:
        raise CertificateError(
            exc.reason, exc.message, target=str(certificate), remedy=exc.remedy
        ) from None
    try:
        write_atomic(out, pdf)
    except OSError as exc:
        raise TargetError(f"cannot write the PDF: {exc.strerror}", target=str(out)) from None
    return check
