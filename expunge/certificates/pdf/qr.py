"""The QR code printed on a certificate: its id and the SHA-256 of the signed payload.

Scanning the paper gives exactly what is needed to find the certificate file and check that
it is the one printed: ``expunge:certificate:<ID>:sha256:<HEX>``. The symbol is drawn as
vector squares (no image library), error correction level M.
"""

from __future__ import annotations

import segno

from expunge.certificates.pdf.sheet import Sheet

QR_SIZE = 30.0
_QUIET_ZONE = 4


def qr_text(certificate_id: str, sha256: str) -> str:
    """What the QR code encodes."""
    return f"expunge:certificate:{certificate_id}:sha256:{sha256}"


def draw_qr(sheet: Sheet, text: str, x: float, y: float) -> None:
    """Draw ``text`` as a QR code ``QR_SIZE`` mm wide (quiet zone included) at ``(x, y)``."""
    modules = tuple(segno.make(text, error="m").matrix_iter(border=_QUIET_ZONE))
    sheet.squares(modules, x, y, QR_SIZE / len(modules))
