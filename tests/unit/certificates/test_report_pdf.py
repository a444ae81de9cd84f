"""The printed period report: a certificate id is printed whole, whatever its letters."""

from __future__ import annotations

from pathlib import Path

import pytest

from expunge.certificates.pdf.report import render_report_pdf
from expunge.certificates.register_query import Totals
from expunge.certificates.register_row import RegisterRow
from tests.support.pdf import pdf_pages

# Crockford base32: W and M are the widest letters in a proportional face, 1 the narrowest.
WIDEST = ("W" * 26, "M" * 26, "0" * 26, "01M8W2BWPXH90EZNH36C8XPEVW")


def _row(certificate_id: str) -> RegisterRow:
    return RegisterRow(
        name=f"{certificate_id}.cert.json",
        certificate_id=certificate_id,
        issued_at="2026-12-02T10:00:00Z",
        finished_at="2026-12-02T10:00:01Z",
        finished_epoch=0.0,
        target="/srv/exports/" + "a-long-folder-name/" * 6 + "payroll.xlsx",
        outcome="success",
        method="clear",
        verification="nist passed",
        operator="Operator With A Long Name",
        subjects=1,
        bytes=4096,
        problem=None,
        signature="verified",
    )


@pytest.mark.parametrize("certificate_id", WIDEST)
def test_the_certificate_id_is_printed_whole(tmp_path: Path, certificate_id: str) -> None:
    rows = (_row(certificate_id),)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_report_pdf("report", rows, Totals.of(rows)))
    printed = " ".join(pdf_pages(pdf))
    assert certificate_id in printed
    # The target, which is only a summary, is the column that gives way.
    assert "payroll.xlsx" not in printed and "/srv/exports/" in printed
