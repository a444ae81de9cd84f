"""What one destruction did: its files, its certificate, what the ledger recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from expunge.core import paths
from expunge.core.errors import ExpungeError, MediaIOError, TargetError, VerificationError
from expunge.core.outcome import Outcome
from expunge.workflows import certify, records
from expunge.workflows.certify.outcomes import FilesWork


@dataclass(frozen=True)
class Destruction(FilesWork):
    """One top-level PATH argument destroyed, with its certificate and ledger record."""

    certificate: certify.IssuedCertificate | None = None
    ledger: records.LedgerUpdate | None = None

    @property
    def failure(self) -> ExpungeError | None:
        """Why it did not succeed, as the error to exit with; ``None`` when it did."""
        return destructions_failure((self,))

    @property
    def exit_code(self) -> int:
        """0 for a success, else the exit code of ``failure``."""
        failure = self.failure
        return failure.exit_code if failure else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            **paths.path_fields(self.target, "target"),
            "kind": self.kind,
            "status": self.status,
            "files": [f.to_dict() for f in self.files],
            "certificate": str(self.certificate.path) if self.certificate else None,
            "certificate_outcome": self.certificate.outcome if self.certificate else None,
            "removed_entries": [paths.readable(p) for p in self.removed_entries],
            "skipped": [paths.readable(p) for p in self.skipped],
            "errors": [paths.readable(e) for e in self.errors],
            "left_alone": [paths.readable(e) for e in self.left],
            "ledger": self.ledger.to_dict() if self.ledger else None,
        }


class AroundDestruction:
    """A result built around one destruction, whose status and failure are that one's."""

    destruction: Destruction

    @property
    def status(self) -> Outcome:
        """The destruction's status."""
        return self.destruction.status

    @property
    def failure(self) -> ExpungeError | None:
        """Why it did not succeed, as the error to exit with; ``None`` when it did."""
        return self.destruction.failure


def destructions_failure(results: Sequence[Destruction]) -> ExpungeError | None:
    """Why some of ``results`` did not succeed: a read-back mismatch first, then an
    incomplete destruction, then a ledger that could not record it; ``None`` when all did."""
    unverified = [f for r in results for f in r.files if f.verification_failed]
    if unverified:
        return VerificationError(
            "read-back found content other than what was written",
            target=", ".join(f.path for f in unverified),
            remedy="the file was kept for inspection (--remove-on-failure removes it); "
            "check the medium",
        )
    changed = [r for r in results if r.left and not r.errors]
    if changed and all(f.status == "success" for r in changed for f in r.files):
        return TargetError(
            "some entries changed after they were checked and were left alone",
            target=", ".join(r.target for r in changed),
            remedy="see 'left alone' above; check them and run the command again",
        )
    failed = [r for r in results if r.status != "success"]
    if failed:
        return MediaIOError(
            "the destruction did not complete",
            target=", ".join(r.target for r in failed),
            remedy="see the errors above; the medium may be failing",
        )
    for result in results:
        if result.ledger is not None and result.ledger.failure is not None:
            return result.ledger.failure
    return None
