"""Human output: the text summary and the one-page PDF carry every field people look for."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from expunge.certificates import (
    Certificate,
    CertificateCheck,
    CertificateError,
    Person,
    Role,
    TrustStore,
    countersign,
    render_text,
    sign_certificate,
    verify_certificate,
    verify_envelope,
)
from expunge.certificates.pdf import latin1, render_pdf
from tests.support.tamper_fixtures import (
    AUDITOR,
    LONG_NAME,
    STATION,
    file_record,
    sample_certificate,
    sample_drive_certificate,
)

TRUST = (
    TrustStore()
    .with_key(STATION.public_key(), "station")
    .with_key(AUDITOR.public_key(), "auditor", Role.AUDITOR)
)


def _check(certificate: Certificate) -> CertificateCheck:
    return verify_certificate(sign_certificate(certificate, STATION).to_json(), TRUST)


def _pdf_text(tmp_path: Path, check: CertificateCheck) -> tuple[str, int]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; CI installs it")
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(render_pdf(check))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    pages = next(int(line.split()[-1]) for line in info.splitlines() if line.startswith("Pages:"))
    return " ".join(text.split()), pages


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


def test_pdf_has_serial_path_method_outcome_fingerprint_and_digest(tmp_path: Path) -> None:
    envelope = sign_certificate(sample_certificate(), STATION)
    countersigned = countersign(
        verify_envelope(envelope, TRUST.station_keys),
        AUDITOR,
        validator=Person("Bea Auditor", "Internal audit", "Example Agency", "Bonn"),
        note="witnessed",
        signed_at="2026-03-03T10:00:00Z",
    )
    check = verify_certificate(countersigned.to_json(), TRUST)
    text, pages = _pdf_text(tmp_path, check)
    certificate = sample_certificate()

    assert pages == 1
    for value in (
        "Certificate of Sanitization",
        certificate.media.serial,
        certificate.subjects[0].subject.name,
        "Overwrite",
        "dod-3",
        "Outcome: SUCCESS",
        "UNCLASSIFIED",
        "internal reuse",
        str(check.signer),
        str(check.certificate_sha256),
        "Bea Auditor",
    ):
        assert value in text, value
    # The long name wraps, but all of it is printed; Cyrillic becomes '?'.
    whole_path = latin1(certificate.subjects[1].subject.name)
    assert "????????-a-very-long-file-name" in whole_path
    assert whole_path in text.replace(" ", "")


def test_pdf_of_a_drive_certificate(tmp_path: Path) -> None:
    text, _ = _pdf_text(tmp_path, _check(sample_drive_certificate()))
    assert "4C530001230915117054" in text
    assert "/dev/sdz" in text


def test_pdf_of_a_large_directory_stays_on_one_page(tmp_path: Path) -> None:
    records = tuple(file_record(f"/srv/x/file-{i:03}.txt", 4096, 5000 + i) for i in range(300))
    check = _check(replace(sample_certificate(), subjects=records))
    text, pages = _pdf_text(tmp_path, check)

    assert pages == 1
    assert "/srv/x/file-000.txt" in text
    assert "more: the JSON certificate lists every subject" in text
    assert str(check.certificate_sha256) in text


def test_pdf_refuses_an_unverified_envelope() -> None:
    envelope = sign_certificate(sample_certificate(), AUDITOR).to_json()
    with pytest.raises(CertificateError, match="not in the trust store"):
        render_pdf(verify_certificate(envelope, TrustStore()))


def test_latin1_keeps_accents_and_replaces_the_rest() -> None:
    assert latin1("Übergröße") == "Übergröße"
    assert latin1("ﬁle — “x”") == "file ? ?x?"
    assert latin1("страница") == "????????"
    assert latin1(LONG_NAME).startswith("Überweisungsbelege-2025-????????-")
