"""A period report as a printable PDF table (fpdf2): every row, on as many pages as it
takes, the header repeated and "page n of m" on each, the totals at the end.

Set in the shipped DejaVu Sans, like the certificates: names print as written. The table
is a summary for paper files; the signed certificates it lists stay the proof.
"""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF

from expunge.certificates.pdf.sheet import FONT, MONO, add_fonts
from expunge.certificates.register_query import Totals
from expunge.certificates.register_row import RegisterRow

# (header, width in mm) of each column on an A4 landscape page (277 mm usable).
_COLUMNS = (
    ("Date (UTC)", 33),
    ("Target", 64),
    ("Serial", 26),
    ("Method", 16),
    ("Verification", 22),
    ("Outcome", 17),
    ("Operator", 24),
    ("Certificate id", 52),
    ("Signature", 16),
)
_LINE = 5.0
# The id finds the signed certificate, so it is never cut: set in the mono face, whose
# 26 characters (any of them) take 44 mm at 8 pt, inside the column.
_ID_COLUMN = [name for name, _ in _COLUMNS].index("Certificate id")


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """``text`` cut (with "...") to fit ``width`` mm in the current font."""
    if pdf.get_string_width(text) <= width - 1:
        return text
    while text and pdf.get_string_width(text + "...") > width - 1:
        text = text[:-1]
    return text + "..."


class _ReportPDF(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.title_text = title
        add_fonts(self)
        self.alias_nb_pages()
        self.set_auto_page_break(auto=True, margin=15)

    def header(self) -> None:
        self.set_font(FONT, "B", 12)
        self.cell(0, 8, self.title_text, new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "B", 8)
        for name, width in _COLUMNS:
            self.cell(width, _LINE + 1, name, border="B")
        self.ln(_LINE + 1)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.cell(0, 6, f"page {self.page_no()} of {{nb}}", align="C")


def render_report_pdf(title: str, rows: Sequence[RegisterRow], totals: Totals) -> bytes:
    """The PDF bytes of a report titled ``title``: one table row per certificate."""
    pdf = _ReportPDF(title)
    pdf.add_page()
    pdf.set_font(FONT, "", 8)
    for row in rows:
        date, *rest = row.cells()
        # To the second: the certificate keeps the exact time.
        shown = (date[:19].replace("T", " "), *rest)
        for column, (value, (_, width)) in enumerate(zip(shown, _COLUMNS, strict=True)):
            if column == _ID_COLUMN:
                pdf.set_font(MONO, "", 8)
                pdf.cell(width, _LINE, value)
                pdf.set_font(FONT, "", 8)
            else:
                pdf.cell(width, _LINE, _fit(pdf, value, width))
        pdf.ln(_LINE)
    pdf.ln(_LINE)
    pdf.set_font(FONT, "B", 9)
    outcomes = ", ".join(f"{o} {n}" for o, n in totals.by_outcome)
    pdf.cell(
        0,
        _LINE,
        f"Total: {totals.certificates} destructions ({outcomes}); {totals.subjects} "
        f"subjects, {totals.bytes} bytes; signatures not verified: {totals.unverified}",
    )
    return bytes(pdf.output())
