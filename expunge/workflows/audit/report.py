"""What an audit found: problems by seq, the anchors it held the chain to, the counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from expunge.core.errors import EXIT_INTEGRITY, EXIT_OK, IntegrityError
from expunge.ledger.chain import ChainReport
from expunge.ledger.entries import Head


@dataclass(frozen=True)
class AuditProblem:
    """One thing wrong, at the seq it concerns (``None``: a file outside the ledger)."""

    seq: int | None
    kind: str
    message: str

    def describe(self) -> str:
        """One line: ``seq 17: ...``."""
        return f"seq {self.seq}: {self.message}" if self.seq is not None else self.message

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"seq": self.seq, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class Anchor:
    """A head recorded outside the chain, and where it was found."""

    head: Head
    origin: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.head.to_dict(), "origin": self.origin}


@dataclass(frozen=True)
class AuditReport:
    """What ``audit`` found; ``ok`` only when every check held."""

    source: str
    chain: ChainReport
    documents: int
    destroyed: int
    outstanding_copies: int
    destroy_events: int
    certificates_verified: int
    certificate_files: int
    anchors: int
    problems: tuple[AuditProblem, ...]

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    @property
    def exit_code(self) -> int:
        """0 when ok, else 7 (ledger or certificate invalid)."""
        return EXIT_OK if self.ok else EXIT_INTEGRITY

    @property
    def failure(self) -> IntegrityError | None:
        """The error to exit with when a problem was found."""
        if self.ok:
            return None
        first = self.problems[0]
        return IntegrityError(
            f"the audit found {len(self.problems)} problem(s), first: {first.describe()}",
            target=self.source,
            remedy="see the report above",
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "ok": self.ok,
            "source": self.source,
            "ledger_id": self.chain.ledger_id,
            "entries": self.chain.entries,
            "head": self.chain.head.to_dict() if self.chain.head else None,
            "checkpoints": self.chain.checkpoints,
            "checkpoints_verified": self.chain.checkpoints_verified,
            "anchors": self.anchors,
            "documents": self.documents,
            "destroyed": self.destroyed,
            "outstanding_copies": self.outstanding_copies,
            "destroy_events": self.destroy_events,
            "certificates_verified": self.certificates_verified,
            "certificate_files": self.certificate_files,
            "problems": [p.to_dict() for p in self.problems],
        }
