"""Reading a PDF back as an auditor's tools do (poppler's pdftotext)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support import need_tool


def pdf_pages(pdf: Path) -> list[str]:
    """The text of each page, whitespace folded (pdftotext ends each page with a form
    feed); skips the test when poppler-utils is missing."""
    text = subprocess.run(
        [need_tool("pdftotext"), "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [" ".join(page.split()) for page in text.split("\f") if page.strip()]
