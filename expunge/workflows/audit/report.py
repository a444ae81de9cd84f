"""What an audit found: problems by seq, the anchors it held the chain to, the counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from expunge.core.errors import EXIT_INTEGRITY, EXIT_OK, IntegrityError
from expunge.ledger.chain import ChainReport
from expunge.ledger.entries import Head
from expunge.ledger.locations import Location
from expunge.ledger.state import DocumentState
from expunge.workflows.audit.outcomes import OutcomeTally


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
class WriteOffNote:
    """A copy closed by a write-off: accepted (its entry is signed), and reported."""

    doc_id: str
    copy_seq: int
    location: str
    seq: int
    reason: str
    witness: str

    @classmethod
    def of(cls, state: DocumentState, loc: Location) -> WriteOffNote:
        """The note for ``loc``, a written-off location of ``state``."""
        assert loc.written_off is not None
        off = loc.written_off
        return cls(state.doc_id, loc.seq, loc.describe(), off.seq, off.reason, off.witness)

    def describe(self) -> str:
        """One line: ``DOC-1: copy on medium S (seq 3) written off at seq 9: lost, ...``."""
        return (
            f"{self.doc_id}: copy {self.location} (seq {self.copy_seq}) written off at seq "
            f"{self.seq}: {self.reason}, witness {self.witness}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "doc_id": self.doc_id,
            "copy_seq": self.copy_seq,
            "location": self.location,
            "seq": self.seq,
            "reason": self.reason,
            "witness": self.witness,
        }


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
    written_off: tuple[WriteOffNote, ...] = ()
    outcomes: OutcomeTally = field(default_factory=OutcomeTally)
    strict: bool = False
    """``--strict``: a certificate recording anything but success fails the audit."""

    @property
    def ok(self) -> bool:
        """No problem found (and, when strict, every certificate records success)."""
        return not self.problems and not (self.strict and self.outcomes.not_success)

    @property
    def exit_code(self) -> int:
        """0 when ok, else 7 (ledger or certificate invalid)."""
        return EXIT_OK if self.ok else EXIT_INTEGRITY

    @property
    def failure(self) -> IntegrityError | None:
        """The error to exit with when a problem was found."""
        if self.ok:
            return None
        if not self.problems:
            failed = self.outcomes.not_success
            return IntegrityError(
                f"--strict: {len(failed)} certificate(s) do not record success, first: "
                f"{failed[0].describe()}",
                target=self.source,
                remedy="repeat those destructions (see the list above)",
            )
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
            "authenticity": self.chain.authenticity.to_dict(),
            "anchors": self.anchors,
            "documents": self.documents,
            "destroyed": self.destroyed,
            "outstanding_copies": self.outstanding_copies,
            "destroy_events": self.destroy_events,
            "certificates_verified": self.certificates_verified,
            "certificate_files": self.certificate_files,
            "written_off": [w.to_dict() for w in self.written_off],
            "strict": self.strict,
            "outcomes": self.outcomes.to_dict(),
            "problems": [p.to_dict() for p in self.problems],
        }
