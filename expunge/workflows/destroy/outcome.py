"""What one destruction did: its files, its certificate, what the ledger recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from expunge.workflows import certify, records
from expunge.workflows.certify.outcomes import FilesWork


@dataclass(frozen=True)
class Destruction(FilesWork):
    """One top-level PATH argument destroyed, with its certificate and ledger record."""

    certificate: certify.IssuedCertificate | None = None
    ledger: records.LedgerUpdate | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "target": self.target,
            "kind": self.kind,
            "status": self.status,
            "files": [f.to_dict() for f in self.files],
            "certificate": str(self.certificate.path) if self.certificate else None,
            "certificate_outcome": self.certificate.outcome if self.certificate else None,
            "removed_entries": list(self.removed_entries),
            "skipped": list(self.skipped),
            "errors": list(self.errors),
            "ledger": self.ledger.to_dict() if self.ledger else None,
        }
