"""``cert show --pdf``: the printable certificate for paper files (needs ``expunge[pdf]``).

Every subject is printed, on as many pages as it takes; each page carries the certificate
id and ``page n of m``. The signed ``.cert.json`` itself is embedded in the PDF as a file
attachment, so the paper file's electronic copy carries its own proof
(``pdfdetach -saveall``). Modules: ``sheet`` (page layout, fonts), ``pages`` (what is
printed), ``notes`` (repeated notes once, fields laid out generically), ``qr``.
"""

from expunge.certificates.pdf.pages import render_pdf

__all__ = ["render_pdf"]
