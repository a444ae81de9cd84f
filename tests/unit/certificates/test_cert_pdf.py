"""The printed certificate, read back with poppler as an auditor's tools would read it.

Pages of a success, a failed and an untrusted certificate are rendered to PNG and kept in
``tests/artifacts/pdf/`` (git-ignored) to be looked at.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from expunge.certificates import (
    Certificate,
    CertificateCheck,
    CertificateError,
    Limitation,
    Person,
    TrustStore,
    countersign,
    sign_certificate,
    verify_certificate,
    verify_envelope,
)
from expunge.certificates.pdf import render_pdf
from expunge.certificates.pdf.notes import further_fields
from expunge.certificates.pdf.qr import qr_text
from tests.support import need_tool
from tests.support.pdf import pdf_pages
from tests.support.tamper_fixtures import (
    AUDITOR,
    LONG_NAME,
    STATION,
    STRANGER,
    TRUST,
    file_record,
    fixtures,
    sample_certificate,
    sample_drive_certificate,
)

CHECKED_AT = "2026-03-04T08:30:00Z"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "pdf"


def _printed(tmp_path: Path, envelope: bytes, trust: TrustStore = TRUST) -> Path:
    pdf = tmp_path / "certificate.pdf"
    check = verify_certificate(envelope, trust)
    pdf.write_bytes(render_pdf(check, envelope, checked_at=CHECKED_AT, file_name="c.cert.json"))
    return pdf


def _page_count(pdf: Path) -> int:
    info = subprocess.run(
        [need_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    return next(int(line.split()[-1]) for line in info.splitlines() if line.startswith("Pages:"))


def _signed(certificate: Certificate) -> bytes:
    return sign_certificate(certificate, STATION).to_json()


def test_every_one_of_500_files_is_printed_with_page_numbers_and_the_id(tmp_path: Path) -> None:
    names = [f"/srv/архив/{LONG_NAME[:20]}-{i:03}.txt" for i in range(500)]
    records = tuple(file_record(name, 4096, 5000 + i) for i, name in enumerate(names))
    certificate = replace(sample_certificate(), subjects=records)
    pdf = _printed(tmp_path, _signed(certificate))

    pages = pdf_pages(pdf)
    total = _page_count(pdf)
    assert total == len(pages) > 1
    for number, page in enumerate(pages, 1):
        assert f"page {number} of {total}" in page
        assert certificate.certificate_id in page
    text = " ".join(pages)
    assert "Subjects (500)" in text
    # Every name, in its own script (no '????'), each exactly once in the subject list.
    for number, name in enumerate(names, 1):
        assert f"{number}. {name} " in text, name
    assert "?" not in text.replace("-?", "")


def test_the_attachment_is_the_certificate_file_byte_for_byte_and_verifies(
    tmp_path: Path,
) -> None:
    envelope = _signed(sample_certificate())
    pdf = _printed(tmp_path, envelope)
    out = tmp_path / "detached"
    out.mkdir()
    listing = subprocess.run(
        [need_tool("pdfdetach"), "-list", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    assert "c.cert.json" in listing
    subprocess.run([need_tool("pdfdetach"), "-saveall", "-o", str(out), str(pdf)], check=True)

    attached = (out / "c.cert.json").read_bytes()
    assert attached == envelope
    assert verify_certificate(attached, TRUST).ok


def test_the_nist_fields_and_a_drive_identity_are_printed(tmp_path: Path) -> None:
    certificate = sample_certificate()
    text = " ".join(pdf_pages(_printed(tmp_path, _signed(certificate))))
    for value in (
        "Certificate of Sanitization",
        certificate.media.serial,
        "Overwrite",
        "dod-3",
        "UNCLASSIFIED",
        "internal reuse",
        certificate.digest,
    ):
        assert value in text, value
    # A long Cyrillic name wraps, but all of it is printed as written.
    assert certificate.subjects[1].subject.name in text.replace(" ", "")
    drive = " ".join(pdf_pages(_printed(tmp_path, _signed(sample_drive_certificate()))))
    assert "4C530001230915117054" in drive and "/dev/sdz" in drive


def test_a_repeated_limitation_is_printed_once_with_its_count(tmp_path: Path) -> None:
    paths = [f"/srv/x/file-{i}.txt" for i in range(9)]
    journal = ("ext4-journal", "the journal may hold old data blocks", "wipe the whole drive")
    certificate = replace(
        sample_certificate(),
        subjects=tuple(file_record(p, 4096, 100 + i) for i, p in enumerate(paths)),
        limitations=tuple(Limitation(*journal, target=p) for p in paths),
    )
    text = " ".join(pdf_pages(_printed(tmp_path, _signed(certificate))))
    assert text.count("the journal may hold old data blocks") == 1
    assert "(applies to 9 subjects)" in text


def test_a_success_says_which_key_checked_it_when_and_no_banner(tmp_path: Path) -> None:
    page = pdf_pages(_printed(tmp_path, _signed(sample_certificate())))[0]
    signer = verify_certificate(_signed(sample_certificate()), TRUST).signer
    assert f"Signature checked with key {signer} at {CHECKED_AT}" in page
    assert "Outcome: SUCCESS" in page
    assert "sample certificate" not in page.lower()
    assert "Following NIST SP 800-88" in page
    assert "UNTRUSTED" not in page and "does NOT certify" not in page


def test_a_failed_certificate_carries_a_banner(tmp_path: Path) -> None:
    page = pdf_pages(_printed(tmp_path, _signed(sample_certificate(mismatches=1))))[0]
    assert "OUTCOME FAILED: this certificate does NOT certify" in page
    assert "verification FAILED" in " ".join(pdf_pages(tmp_path / "certificate.pdf"))


def test_an_untrusted_certificate_is_printed_under_a_banner(tmp_path: Path) -> None:
    envelope = sign_certificate(sample_certificate(), STRANGER).to_json()
    page = pdf_pages(_printed(tmp_path, envelope))[0]
    assert "UNTRUSTED: signed by key" in page
    assert "not in the trust store" in page
    assert "Signature checked" not in page
    assert sample_certificate().media.serial in page


def test_an_altered_certificate_is_printed_as_not_valid(tmp_path: Path) -> None:
    page = pdf_pages(_printed(tmp_path, fixtures()["signature-bit-flip.cert.json"]))[0]
    assert "SIGNATURE NOT VALID" in page
    assert "Signature checked" not in page


def test_a_forged_countersignature_carries_a_banner(tmp_path: Path) -> None:
    page = pdf_pages(_printed(tmp_path, fixtures()["forged-countersignature.cert.json"]))[0]
    assert "COUNTERSIGNATURE NOT VALID" in page


def test_what_cannot_be_read_as_a_certificate_is_not_printed() -> None:
    for name in ("truncated.cert.json", "signed-field-added.cert.json"):
        envelope = fixtures()[name]
        with pytest.raises(CertificateError):
            render_pdf(
                verify_certificate(envelope, TRUST), envelope, checked_at=CHECKED_AT, file_name=name
            )


def test_signature_lines_and_the_validation_of_a_countersigned_certificate(
    tmp_path: Path,
) -> None:
    countersigned = countersign(
        verify_envelope(sign_certificate(sample_certificate(), STATION), TRUST.station_keys),
        AUDITOR,
        validator=Person("Bea Auditor", "Internal audit", "Example Agency", "Bonn"),
        note="witnessed",
        signed_at="2026-03-03T10:00:00Z",
    )
    text = " ".join(pdf_pages(_printed(tmp_path, countersigned.to_json())))
    assert "Operator Ada Operator Signature" in text
    assert "Validator Bea Auditor Signature" in text
    assert "Date 2026-03-03T10:00:00Z" in text
    assert "witnessed" in text


def test_the_qr_code_decodes_to_the_id_and_digest(tmp_path: Path) -> None:
    zbarimg = need_tool("zbarimg")
    envelope = _signed(sample_drive_certificate())
    check: CertificateCheck = verify_certificate(envelope, TRUST)
    pdf = _printed(tmp_path, envelope)
    subprocess.run(
        [need_tool("pdftoppm"), "-r", "150", "-png", "-f", "1", "-l", "1", str(pdf), str(pdf)],
        check=True,
    )
    (image,) = tmp_path.glob("certificate.pdf*.png")
    decoded = subprocess.run(
        [zbarimg, "-q", "--raw", str(image)], capture_output=True, text=True
    ).stdout.strip()
    assert check.certificate is not None
    assert decoded == qr_text(check.certificate.certificate_id, str(check.certificate_sha256))
    assert decoded.endswith(f":sha256:{check.certificate_sha256}")


def test_fields_a_newer_certificate_carries_are_printed_generically() -> None:
    payload = sample_certificate().to_dict()
    assert further_fields(payload) == []
    payload["asset_tag"] = "INV-2231"
    payload["media"] = {**payload["media"], "phone": "+49 228 0"}
    payload["extra"] = {"ticket": ["T-1", None]}
    assert further_fields(payload) == [
        ("media.phone", "+49 228 0"),
        ("asset_tag", "INV-2231"),
        ("extra.ticket[0]", "T-1"),
        ("extra.ticket[1]", "-"),
    ]


def test_pages_rendered_for_people_to_look_at(tmp_path: Path) -> None:
    pdftoppm = need_tool("pdftoppm")
    folder = ARTIFACTS
    folder.mkdir(parents=True, exist_ok=True)
    cases = {
        "success": _signed(sample_certificate()),
        "failed": _signed(sample_certificate(mismatches=1)),
        "untrusted": sign_certificate(sample_certificate(), STRANGER).to_json(),
    }
    for name, envelope in cases.items():
        pdf = _printed(tmp_path, envelope)
        stem = folder / name
        for old in folder.glob(f"{name}-*.png"):
            old.unlink()
        subprocess.run([pdftoppm, "-r", "80", "-png", str(pdf), str(stem)], check=True)
        pngs = sorted(folder.glob(f"{name}-*.png"))
        assert len(pngs) == _page_count(pdf)
        assert all(png.read_bytes().startswith(b"\x89PNG") for png in pngs)
