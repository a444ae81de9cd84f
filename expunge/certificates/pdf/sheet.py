"""The page layout of a printed certificate: A4, a Unicode font, a header and footer on
every page.

Each page names the certificate it belongs to (its id) and its place ("page n of m"), so a
page separated from the others still says what it is part of and whether pages are
missing. Text is set in DejaVu Sans, shipped with the package (``fonts/LICENSE``): any
name a filesystem can hold prints as written, not as ``????``.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from typing import Any, cast

from fpdf import FPDF
from fpdf.enums import XPos, YPos

MARGIN = 14.0
LINE = 3.7
_LABEL_WIDTH = 50.0
_HEADER = 10.0
_FOOTER = 12.0
FONT = "DejaVu"
MONO = "DejaVuMono"
_FONT_FILES = {
    (FONT, ""): "DejaVuSans.ttf",
    (FONT, "B"): "DejaVuSans-Bold.ttf",
    (MONO, ""): "DejaVuSansMono.ttf",
}
_ALERT = (170, 20, 20)
_GREY = (150, 150, 150)


def add_fonts(pdf: FPDF) -> None:
    """The shipped DejaVu faces, registered with ``pdf`` (``DejaVu`` regular and bold,
    ``DejaVuMono``)."""
    for (family, style), name in _FONT_FILES.items():
        with as_file(files(__package__).joinpath("fonts", name)) as path:
            pdf.add_font(family, style, str(path))


class Sheet(FPDF):
    """An A4 document whose pages break by themselves, each with the certificate's id."""

    def __init__(self, certificate_id: str) -> None:
        super().__init__(format="A4")
        self.certificate_id = certificate_id
        add_fonts(self)
        self.set_margins(MARGIN, MARGIN + _HEADER, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + _FOOTER)
        self.alias_nb_pages()
        self.width = self.w - 2 * MARGIN
        self.add_page()

    def header(self) -> None:
        """The certificate id on every page, above a rule."""
        self.set_xy(MARGIN, MARGIN)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(90, 90, 90)
        self.cell(self.width, 4, f"Certificate of Sanitization  {self.certificate_id}")
        self.set_draw_color(*_GREY)
        self.line(MARGIN, MARGIN + 5, MARGIN + self.width, MARGIN + 5)
        self.set_text_color(0, 0, 0)
        self.set_xy(MARGIN, MARGIN + _HEADER)

    def footer(self) -> None:
        """``page n of m`` and the certificate id at the foot of every page."""
        self.set_y(-(MARGIN + _FOOTER / 2))
        self.set_font(FONT, "", 7.5)
        self.set_text_color(90, 90, 90)
        self.cell(self.width / 2, 4, f"certificate {self.certificate_id}")
        self.cell(self.width / 2, 4, f"page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    def room(self, height: float) -> None:
        """Start a new page unless ``height`` mm still fit on this one (keeps blocks whole)."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()

    def _height(self, width: float, text: str) -> float:
        return cast(float, self.multi_cell(width, LINE, text, dry_run=True, output="HEIGHT"))

    def document_title(self, text: str, size: float = 16) -> None:
        """The document's title line."""
        self.set_font(FONT, "B", size)
        self.multi_cell(self.width, size * 0.45, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str, keep: float = 2 * LINE) -> None:
        """A section title under a rule, kept on one page with the ``keep`` mm after it."""
        self.room(6 + keep)
        self.ln(1.5)
        self.set_font(FONT, "B", 9.5)
        self.cell(0, 4.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*_GREY)
        self.line(MARGIN, self.get_y(), MARGIN + self.width, self.get_y())
        self.ln(0.5)

    def row(self, label: str, value: str) -> None:
        """A label and its wrapped value (kept together on one page)."""
        text = value or "-"
        self.set_font(FONT, "B", 8)
        label_height = self._height(_LABEL_WIDTH, label)
        self.set_font(FONT, "", 8)
        height = max(label_height, self._height(self.width - _LABEL_WIDTH, text))
        self.room(height)
        top = self.get_y()
        self.set_font(FONT, "B", 8)
        self.multi_cell(_LABEL_WIDTH, LINE, label)
        self.set_xy(MARGIN + _LABEL_WIDTH, top)
        self.set_font(FONT, "", 8)
        self.multi_cell(self.width - _LABEL_WIDTH, LINE, text, align="L")
        self.set_xy(MARGIN, top + height)

    def paragraph(
        self, value: str, *, bold: bool = False, mono: bool = False, size: float = 8
    ) -> None:
        """A paragraph over the full width; it may continue on the next page."""
        self.set_font(MONO if mono else FONT, "B" if bold else "", size)
        self.multi_cell(
            self.width,
            max(LINE, size * 0.45),
            value,
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def banner(self, text: str) -> None:
        """A warning no reader can miss: white on red across the page."""
        self.set_font(FONT, "B", 10)
        self.room(self._height(self.width, text) + 4)
        self.ln(1)
        self.set_fill_color(*_ALERT)
        self.set_text_color(255, 255, 255)
        self.multi_cell(
            self.width,
            5,
            text,
            fill=True,
            padding=2,
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.set_text_color(0, 0, 0)
        self.ln(1)

    def blank_line(self, label: str, filled: str = "") -> None:
        """``label: ____`` to be signed or dated by hand (``filled`` printed above it)."""
        self.set_font(FONT, "B", 8)
        self.cell(28, 7, label)
        self.set_font(FONT, "", 8)
        self.cell(self.width / 2 - 28, 7, filled)
        x, y = self.get_x(), self.get_y() + 6
        self.set_draw_color(0, 0, 0)
        self.line(x - (self.width / 2 - 28), y, x - 2, y)

    def next_row(self) -> None:
        """Move below a line of ``blank_line`` fields."""
        self.ln(8)

    def squares(self, modules: tuple[Any, ...], x: float, y: float, size: float) -> None:
        """A matrix of dark (truthy) and light modules, ``size`` mm each (a QR symbol)."""
        self.set_fill_color(0, 0, 0)
        for row, line in enumerate(modules):
            for column, dark in enumerate(line):
                if dark:
                    self.rect(x + column * size, y + row * size, size, size, style="F")
