"""Human output: the text summary carries every field people look for (PDF: test_cert_pdf)."""

from __future__ import annotations

from expunge.certificates import (
    Certificate,
    CertificateCheck,
    TrustStore,
    render_text,
    sign_certificate,
    verify_certificate,
)
from tests.support.tamper_fixtures import (
    AUDITOR,
    STATION,
    TRUST,
    sample_certificate,
)


def _check(certificate: Certificate) -> CertificateCheck:
    return verify_certificate(sign_certificate(certificate, STATION).to_json(), TRUST)


def test_text_summary_shows_verdict_nist_fields_and_subjects() -> None:
    certificate = sample_certificate()
    text = render_text(_check(certificate))

    assert text.startswith("Certificate check: VALID")
    for value in (
        certificate.certificate_id,
        certificate.digest,
        certificate.media.serial,
        certificate.person.name,
        certificate.sanitization.method_details,
        "Clear",
        "SUCCESS",
        certificate.subjects[0].subject.name,
        str(certificate.subjects[0].passes[-1].key_hex),
        "flash-media",
    ):
        assert value in text


def test_text_summary_of_a_failed_certificate_says_so() -> None:
    text = render_text(_check(sample_certificate(mismatches=1)))
    assert "NOT VALID (outcome-not-success)" in text
    assert "verification FAILED" in text
    assert "Outcome               FAILED" in text


def test_text_summary_of_an_unverified_envelope_hides_the_contents() -> None:
    envelope = sign_certificate(sample_certificate(), AUDITOR).to_json()
    text = render_text(verify_certificate(envelope, TrustStore()))
    assert "NOT VALID (unknown-key)" in text
    assert sample_certificate().media.serial not in text
