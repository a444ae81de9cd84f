"""``cert show --pdf``: a printable one-page certificate for paper files.

Every NIST SP 800-88 field, the verdict, the signing key's fingerprint and the certificate
digest always fit; subjects fill the space left (in detail for up to three, else one line and
a status each), and a directory with more files than a page holds ends with a count of those
left out (the JSON certificate lists them all). The core
Helvetica font needs no font file; characters it cannot encode are transliterated where
possible (``Ü`` stays, ``страница`` becomes ``????????``), and long paths wrap.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import cast

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from expunge.certificates.check import CertificateCheck
from expunge.certificates.reasons import CertificateError
from expunge.certificates.render import countersignature_line, nist_sections, subject_lines, verdict

_MARGIN = 14.0
_LABEL_WIDTH = 50.0
_LINE = 3.7
_FOOTER = 30.0
_MAX_VALUE = 400
_DETAILED_SUBJECTS = 3


def latin1(text: str) -> str:
    """``text`` in the core fonts' Latin-1: accents kept, else decomposed, else ``?``."""
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(base or "?")
    return "".join(out)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


class _Sheet:
    """One A4 page that refuses to overflow: callers ask whether a block fits first."""

    def __init__(self) -> None:
        self.pdf = FPDF(format="A4")
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.pdf.add_page()
        self.width = self.pdf.w - 2 * _MARGIN
        self.bottom = self.pdf.h - _MARGIN - _FOOTER

    def _height(self, width: float, text: str) -> float:
        height = self.pdf.multi_cell(width, _LINE, text, dry_run=True, output="HEIGHT")
        return cast(float, height)

    def fits(self, height: float) -> bool:
        """Whether ``height`` mm more still fit above the footer."""
        return self.pdf.get_y() + height <= self.bottom

    def heading(self, text: str) -> bool:
        """A section title (with room for one row under it); False if it did not fit."""
        if not self.fits(6 + _LINE):
            return False
        self.pdf.ln(1.5)
        self.pdf.set_font("Helvetica", "B", 9.5)
        self.pdf.cell(0, 4.5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.set_draw_color(150, 150, 150)
        self.pdf.line(_MARGIN, self.pdf.get_y(), _MARGIN + self.width, self.pdf.get_y())
        return True

    def row(self, label: str, value: str) -> bool:
        """A label and its (wrapped) value; False if it did not fit."""
        text = latin1(_clip(value)) or "-"
        self.pdf.set_font("Helvetica", "", 8)
        height = self._height(self.width - _LABEL_WIDTH, text)
        if not self.fits(height):
            return False
        top = self.pdf.get_y()
        self.pdf.set_font("Helvetica", "B", 8)
        self.pdf.multi_cell(_LABEL_WIDTH, _LINE, latin1(label))
        self.pdf.set_xy(_MARGIN + _LABEL_WIDTH, top)
        self.pdf.set_font("Helvetica", "", 8)
        self.pdf.multi_cell(self.width - _LABEL_WIDTH, _LINE, text, align="L")
        self.pdf.set_xy(_MARGIN, top + height)
        return True

    def text(self, value: str, *, size: float = 8, style: str = "", reserve: float = 0) -> bool:
        """A paragraph over the full width; False if it (plus ``reserve``) did not fit."""
        self.pdf.set_font("Helvetica", style, size)
        text = latin1(value)
        height = self._height(self.width, text)
        if not self.fits(height + reserve):
            return False
        self.pdf.multi_cell(self.width, _LINE if size <= 9 else size * 0.45, text, align="L")
        self.pdf.set_x(_MARGIN)
        return True

    def footer(self, lines: list[str]) -> None:
        """The fixed block at the foot of the page: identity of the certificate and key."""
        self.pdf.set_y(self.bottom + 3)
        self.pdf.set_draw_color(0, 0, 0)
        self.pdf.line(_MARGIN, self.pdf.get_y(), _MARGIN + self.width, self.pdf.get_y())
        self.pdf.ln(1)
        self.pdf.set_font("Courier", "", 7.5)
        for line in lines:
            self.pdf.multi_cell(self.width, 3.4, latin1(line), align="L")
            self.pdf.set_x(_MARGIN)


def render_pdf(check: CertificateCheck) -> bytes:
    """A one-page PDF of a checked certificate.

    Raises ``CertificateError`` when the signature did not verify under a trusted key:
    an unverified document is not printed as a certificate.
    """
    certificate = check.certificate
    if certificate is None:
        failure = check.reasons[0]
        raise CertificateError(failure.reason, failure.message, remedy=failure.remedy)
    sheet = _Sheet()
    sheet.pdf.set_title(f"Certificate of sanitization {certificate.certificate_id}")
    sheet.pdf.set_creation_date(datetime.fromisoformat(certificate.issued_at))
    sheet.text("Certificate of Sanitization", size=16, style="B")
    sheet.text("NIST SP 800-88 sample certificate, signed (DSSE, Ed25519)", size=8)
    sheet.pdf.ln(1)
    sheet.text(f"Outcome: {certificate.outcome.value.upper()}", size=11, style="B")
    sheet.text(f"Verification of this document: {verdict(check)}", size=8, style="B")

    for title, rows in nist_sections(certificate):
        if sheet.heading(title):
            for label, value in rows:
                sheet.row(label, value)

    if sheet.heading("Validation"):
        lines = [countersignature_line(c) for c in check.countersignatures]
        for line in lines or ["no countersignature"]:
            sheet.text(line)
    notes = [
        *(f"Limitation {x.code}: {x.text}; {x.remedy}" for x in certificate.limitations),
        *(
            f"Error {x.code}: {x.text}" + (f" [{x.target}]" if x.target else "")
            for x in certificate.errors
        ),
    ]
    if notes and sheet.heading("Limitations and errors"):
        for line in notes:
            if not sheet.text(line):
                break

    total = len(certificate.subjects)
    if sheet.heading(f"Subjects ({total})"):
        for shown, record in enumerate(certificate.subjects):
            first, *rest = subject_lines(record)
            if total > _DETAILED_SUBJECTS:
                rest = rest[-1:]
            block = f"{shown + 1}. {first}\n" + "\n".join(f"    {line}" for line in rest)
            if not sheet.text(block, reserve=2 * _LINE if shown < total - 1 else 0):
                sheet.text(
                    f"... and {total - shown} more: the JSON certificate lists every subject",
                    style="I",
                )
                break

    sheet.footer(
        [
            f"Certificate id:      {certificate.certificate_id}",
            f"Certificate SHA-256: {check.certificate_sha256}",
            f"Signing key (SHA-256 fingerprint): {check.signer}",
            "This page summarizes the signed certificate file, which is the record: check it"
            " offline with: expunge cert verify FILE --trust STATION_KEY.pub",
        ]
    )
    return bytes(sheet.pdf.output())
