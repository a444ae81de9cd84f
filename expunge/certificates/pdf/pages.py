"""What the printed certificate says, section by section, on as many pages as it takes.

Page one opens with the outcome and the signature check as of printing ("signature checked
with key K at T"), in a red banner whenever the certificate does not certify a destruction
(any outcome but success), its signature was not checked against a trusted key, or a
countersignature is invalid. Then the
NIST SP 800-88 sections (shared with ``cert show``), further payload fields, the notes
(each distinct one once, with the count of subjects it applies to), every subject, the
validations, signature and date lines for the operator and the validator, and the QR code.
The signed envelope is embedded, byte for byte, as a file attachment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from expunge.certificates.check import CertificateCheck
from expunge.certificates.countersignature import CountersignatureStatus
from expunge.certificates.dsse import Envelope
from expunge.certificates.model import Certificate
from expunge.certificates.pdf.notes import further_fields, grouped_notes
from expunge.certificates.pdf.qr import QR_SIZE, draw_qr, qr_text
from expunge.certificates.pdf.sheet import LINE, MARGIN, Sheet
from expunge.certificates.reasons import CertificateError, Reason
from expunge.certificates.render import countersignature_line, nist_sections, subject_lines
from expunge.core.errors import IntegrityError
from expunge.core.outcome import Outcome

# Subjects printed in full (passes, keys, verifications); beyond this many, one line each:
# identity and status (the attached certificate holds every detail).
_DETAILED_SUBJECTS = 3
# A signature that could not be checked still lets the content be printed (under a
# banner); a payload that is not a readable certificate cannot be printed at all.
_PRINTABLE_UNCHECKED = frozenset({Reason.UNKNOWN_KEY, Reason.BAD_SIGNATURE})


@dataclass(frozen=True)
class _Printed:
    """The certificate to print, its digest, and whether its signature held."""

    certificate: Certificate
    sha256: str
    signers: str
    checked: bool


def _printed(check: CertificateCheck, envelope: bytes) -> _Printed:
    if check.certificate is not None and check.certificate_sha256 and check.signer:
        return _Printed(check.certificate, check.certificate_sha256, check.signer, True)
    failure = check.reasons[0]
    refusal = CertificateError(failure.reason, failure.message, remedy=failure.remedy)
    if failure.reason not in _PRINTABLE_UNCHECKED:
        raise refusal
    try:
        parsed = Envelope.from_json(envelope)
        certificate = Certificate.from_json(parsed.payload)
    except IntegrityError:
        raise refusal from None
    signers = ", ".join(s.keyid for s in parsed.signatures)
    return _Printed(certificate, parsed.payload_sha256, signers, False)


def _verdict(sheet: Sheet, check: CertificateCheck, shown: _Printed, checked_at: str) -> None:
    certificate = shown.certificate
    if not shown.checked:
        failure = check.reasons[0]
        what = "UNTRUSTED" if failure.reason is Reason.UNKNOWN_KEY else "SIGNATURE NOT VALID"
        sheet.banner(
            f"{what}: {failure.message}. Nothing on these pages is vouched for by a trusted"
            f" key ({failure.remedy})."
        )
    for counter in check.countersignatures:
        if counter.status is CountersignatureStatus.INVALID:
            sheet.banner(
                f"COUNTERSIGNATURE NOT VALID: the validation by key {counter.keyid} is forged,"
                f" altered or made for another certificate ({counter.problem})."
            )
    if certificate.outcome is not Outcome.SUCCESS:
        sheet.banner(
            f"OUTCOME {certificate.outcome.value.upper()}: this certificate does NOT certify"
            " that the data was destroyed; the destruction must be repeated."
        )
    sheet.paragraph(f"Outcome: {certificate.outcome.value.upper()}", bold=True, size=11)
    if shown.checked:
        sheet.paragraph(
            f"Signature checked with key {shown.signers} at {checked_at}: it verifies, and the"
            " key is a trusted station key.",
            bold=True,
        )
    else:
        sheet.paragraph(
            f"Signature by key {shown.signers}: not verified at {checked_at}.", bold=True
        )


def _subjects(sheet: Sheet, certificate: Certificate) -> None:
    total = len(certificate.subjects)
    detailed = total <= _DETAILED_SUBJECTS
    blocks = [subject_lines(record) for record in certificate.subjects]
    sheet.heading(f"Subjects ({total})", keep=LINE * (len(blocks[0]) if detailed and blocks else 2))
    for number, (first, *rest) in enumerate(blocks, 1):
        if not detailed:
            sheet.paragraph(f"{number}. {first}: {rest[-1]}")
            continue
        sheet.room(LINE * (1 + len(rest)))
        sheet.paragraph(f"{number}. {first}\n" + "\n".join(f"    {line}" for line in rest))


def _signature_lines(sheet: Sheet, check: CertificateCheck, certificate: Certificate) -> None:
    sheet.heading("Signatures")
    sheet.room(4 * 8)
    sheet.blank_line("Operator", certificate.person.name)
    sheet.blank_line("Signature")
    sheet.next_row()
    sheet.blank_line("Date")
    sheet.next_row()
    validations = [c.validation for c in check.countersignatures if c.validation is not None]
    first = validations[0] if validations else None
    sheet.blank_line("Validator", first.validator.name if first else "")
    sheet.blank_line("Signature")
    sheet.next_row()
    sheet.blank_line("Date", first.signed_at if first else "")
    sheet.next_row()


def _identity(sheet: Sheet, shown: _Printed) -> None:
    sheet.room(QR_SIZE + 2)
    top = sheet.get_y() + 1
    draw_qr(sheet, qr_text(shown.certificate.certificate_id, shown.sha256), MARGIN, top)
    sheet.set_xy(MARGIN + QR_SIZE + 3, top + 3)
    sheet.set_left_margin(MARGIN + QR_SIZE + 3)
    sheet.width -= QR_SIZE + 3
    sheet.paragraph(f"Certificate id: {shown.certificate.certificate_id}", mono=True, size=7.5)
    sheet.paragraph(f"Certificate SHA-256: {shown.sha256}", mono=True, size=7.5)
    sheet.paragraph(f"Signing key (SHA-256 fingerprint): {shown.signers}", mono=True, size=7.5)
    sheet.paragraph(
        "These pages summarize the signed certificate, which is the record; it is attached"
        " to this PDF (pdfdetach -saveall). Check it offline with:"
        " expunge cert verify FILE --trust STATION_KEY.pub",
        size=7.5,
    )
    sheet.width += QR_SIZE + 3
    sheet.set_left_margin(MARGIN)
    sheet.set_xy(MARGIN, max(sheet.get_y(), top + QR_SIZE) + 1)


def render_pdf(
    check: CertificateCheck, envelope: bytes, *, checked_at: str, file_name: str
) -> bytes:
    """The printed certificate, with ``envelope`` (the file's bytes) attached as ``file_name``.

    ``check`` is the verdict on ``envelope``, made at ``checked_at`` (RFC 3339). A
    certificate whose signature is by an unknown key or does not verify is printed under a
    banner saying so; anything else unchecked (``malformed``, ``unsupported-schema``, ...)
    raises ``CertificateError``: there is no certificate to print.
    """
    shown = _printed(check, envelope)
    certificate = shown.certificate
    sheet = Sheet(certificate.certificate_id)
    sheet.set_title(f"Certificate of sanitization {certificate.certificate_id}")
    sheet.set_creation_date(datetime.fromisoformat(checked_at))
    sheet.document_title("Certificate of Sanitization")
    sheet.paragraph("Following NIST SP 800-88; signed with Ed25519 in a DSSE envelope", size=8)
    sheet.ln(1)
    _verdict(sheet, check, shown, checked_at)
    _identity(sheet, shown)
    for title, rows in nist_sections(certificate):
        sheet.heading(title)
        for label, value in rows:
            sheet.row(label, value)
    further = further_fields(certificate.to_dict())
    if further:
        sheet.heading("Further fields")
        for label, value in further:
            sheet.row(label, value)
    notes = grouped_notes(certificate)
    if notes:
        sheet.heading("Limitations and errors")
        for note in notes:
            sheet.paragraph(note.line())
    _subjects(sheet, certificate)
    sheet.heading("Validation (countersignatures)")
    for line in [countersignature_line(c) for c in check.countersignatures] or ["none"]:
        sheet.paragraph(line)
    _signature_lines(sheet, check, certificate)
    sheet.embed_file(
        bytes=envelope,
        basename=file_name,
        modification_date=datetime.fromisoformat(certificate.issued_at),
        mime_type="application/json",
        desc="The signed certificate (DSSE envelope) these pages print",
        compress=True,
    )
    return bytes(sheet.output())
