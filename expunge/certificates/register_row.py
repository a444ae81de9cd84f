"""One row of the register of certificates: what a certificate file claims, in a few fields.

A row is made from the file's payload without trusting it (the index is a cache for
searching); ``signature`` is filled in when the row is listed, from a fresh check of the
file under the reader's trust store.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from expunge.certificates.model import Certificate
from expunge.certificates.storage import claimed_certificate
from expunge.certificates.subjects import FileSubject, VerificationStatus, is_drive

Columns = tuple[Any, ...]

HEADERS = (
    "date",
    "target",
    "serial",
    "method",
    "verification",
    "outcome",
    "operator",
    "certificate_id",
    "signature",
)
"""The register's columns, as ``cert list``, ``report`` and their CSV name them."""


def verification_summary(certificate: Certificate) -> str:
    """``nist passed``, ``quick failed``, ``none``: how the subjects were read back."""
    checks = [v for r in certificate.subjects for v in r.verifications]
    if not checks:
        return "none"
    modes = "+".join(sorted({v.mode for v in checks}))
    statuses = {v.status for v in checks}
    for status in (VerificationStatus.FAILED, VerificationStatus.INCOMPLETE):
        if status in statuses:
            return f"{modes} {status}"
    return f"{modes} {VerificationStatus.PASSED}"


def _serials(certificate: Certificate) -> tuple[str, ...]:
    found = [r.subject.serial for r in certificate.subjects if is_drive(r.subject)]
    found.append(certificate.media.serial)
    return tuple(dict.fromkeys(s for s in found if s))


def _documents(certificate: Certificate) -> tuple[str, ...]:
    found: list[str | None] = []
    for record in certificate.subjects:
        if isinstance(record.subject, FileSubject):
            found.append(record.subject.document_id)
        if record.key_erasure is not None:
            found.append(record.key_erasure.doc_id)
    return tuple(dict.fromkeys(d for d in found if d))


@dataclass(frozen=True)
class RegisterRow:
    """A certificate file as the register lists it.

    ``problem`` says why a file in the folder is not a readable certificate (then the
    other fields are empty); ``signature`` is ``verified`` or why not, once checked.
    """

    name: str
    certificate_id: str
    issued_at: str
    finished_at: str
    finished_epoch: float | None
    target: str
    outcome: str
    method: str
    verification: str
    operator: str
    subjects: int
    bytes: int
    problem: str | None
    serials: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    signature: str | None = None

    def columns(self) -> Columns:
        """The index's columns after the file's name, size and mtime."""
        return (
            self.certificate_id,
            self.issued_at,
            self.finished_at,
            self.finished_epoch,
            self.target,
            self.outcome,
            self.method,
            self.verification,
            self.operator,
            self.subjects,
            self.bytes,
            self.problem,
        )

    @classmethod
    def from_columns(
        cls, values: Columns, serials: tuple[str, ...], documents: tuple[str, ...]
    ) -> RegisterRow:
        """A row read back from the index: ``values`` is the name, then ``columns()``."""
        name, cid, issued, finished, epoch, target, outcome, method, check, operator, *rest = values
        subjects, size, problem = rest
        return cls(
            name,
            cid,
            issued,
            finished,
            epoch,
            target,
            outcome,
            method,
            check,
            operator,
            subjects,
            size,
            problem,
            serials=serials,
            documents=documents,
        )

    def cells(self) -> tuple[str, ...]:
        """The values in ``HEADERS`` order (a file that is not a certificate says why)."""
        if self.problem is not None:
            return ("", self.name, "", "", "", "", "", "", self.problem)
        return (
            self.finished_at,
            self.target,
            ", ".join(self.serials),
            self.method,
            self.verification,
            self.outcome,
            self.operator,
            self.certificate_id,
            self.signature or "",
        )

    def checked(self, signature: str) -> RegisterRow:
        """The row with the verdict on its file's signature."""
        return replace(self, signature=signature)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``cert list --json``)."""
        return {
            "file": self.name,
            "certificate_id": self.certificate_id or None,
            "finished_at": self.finished_at or None,
            "issued_at": self.issued_at or None,
            "target": self.target,
            "serials": list(self.serials),
            "documents": list(self.documents),
            "method": self.method,
            "verification": self.verification,
            "outcome": self.outcome or None,
            "operator": self.operator,
            "subjects": self.subjects,
            "bytes": self.bytes,
            "signature": self.signature,
            "problem": self.problem,
        }


def row_of(name: str, data: bytes | str) -> RegisterRow:
    """The row of a certificate file from its bytes (or the reason it could not be read)."""
    certificate = None if isinstance(data, str) else claimed_certificate(data)
    if certificate is None:
        problem = data if isinstance(data, str) else "not a readable certificate"
        return RegisterRow(name, "", "", "", None, "", "", "", "", "", 0, 0, problem)
    return row_of_certificate(name, certificate)


def row_of_certificate(name: str, certificate: Certificate) -> RegisterRow:
    """The row of the certificate file ``name`` holding ``certificate``."""
    return RegisterRow(
        name=name,
        certificate_id=certificate.certificate_id,
        issued_at=certificate.issued_at,
        finished_at=certificate.finished_at,
        finished_epoch=datetime.fromisoformat(certificate.finished_at).timestamp(),
        target=certificate.target,
        outcome=certificate.outcome.value,
        method=certificate.sanitization.method_name,
        verification=verification_summary(certificate),
        operator=certificate.person.name,
        subjects=len(certificate.subjects),
        bytes=sum(r.subject.size for r in certificate.subjects),
        problem=None,
        serials=_serials(certificate),
        documents=_documents(certificate),
    )
