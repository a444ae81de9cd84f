"""What a drive wipe is asked to do, and what it did: the request and the per-drive result,
whose status is computed here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from expunge.core.errors import ExpungeError, RefusedError, UsageError
from expunge.core.outcome import Outcome
from expunge.drives import Drive, DriveRefused, Identity
from expunge.shred.methods import Method
from expunge.verify import VerifyOptions
from expunge.workflows import certify
from expunge.workflows.certify.erase_work import DriveWork

REFUSED: Literal["refused"] = "refused"
DriveStatus = Outcome | Literal["refused"]
"""How one drive ended: an ``Outcome``, or ``refused`` when nothing was written to it."""


@dataclass(frozen=True)
class DriveRequest:
    """One drive to wipe: as listed, as the operator confirmed it, and how to wipe it."""

    drive: Drive
    confirmed: Identity
    method: Method
    verify: VerifyOptions = field(default_factory=VerifyOptions)
    allow_fixed: bool = False
    include_virtual: bool = False
    then: Method | None = None
    """With ``-m luks-erase``: the overwrite of the whole volume after the erase."""
    resume: bool = False
    """Finish the interrupted wipe journaled for this drive (same medium only)."""
    on_error: Literal["continue", "abort"] = "continue"
    include_hidden_areas: bool = False
    """Open an ATA drive's host protected area (volatile) for the overwrite."""


@dataclass(frozen=True)
class DriveWipe(DriveWork):
    """One drive: what was written, what read-back found, and its certificate.

    ``problem`` is what stopped the drive from being wiped (a refusal: nothing written,
    no certificate) or what went wrong around the wipe (a read-back that could not run,
    a certificate that could not be written).
    """

    problem: ExpungeError | None = field(default=None, compare=False)
    certificate: certify.IssuedCertificate | None = None
    ledger_documents: tuple[str, ...] = ()
    ledger_queued: str | None = None
    """The outbox file holding the medium's record, when the shared ledger could not take
    it (``ledger sync`` delivers it)."""

    @property
    def refused(self) -> bool:
        """Refused before anything was written (an interlock, or options the drive's
        pending journal rules out, such as another method than the one it used)."""
        nothing_done = self.wipe is None and self.sanitize is None
        return nothing_done and isinstance(self.problem, RefusedError | UsageError)

    @property
    def outcome(self) -> Outcome:
        """``success`` only when every pass completed, read-back (if any) matched and the
        certificate was written; a drive that was never written to ``failed``."""
        written = self.written_outcome
        if written is Outcome.SUCCESS and self.problem is not None:
            return Outcome.FAILED
        return written

    @property
    def status(self) -> DriveStatus:
        """The outcome, or ``refused`` when the drive was refused (an interlock, a changed
        identity, a busy device) before anything was written."""
        return REFUSED if self.refused else self.outcome

    @property
    def certificate_id(self) -> str | None:
        """The id of the certificate issued for this drive, if one was."""
        return self.certificate.certificate.certificate_id if self.certificate else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        reasons = self.problem.reasons if isinstance(self.problem, DriveRefused) else ()
        return {
            "node": self.node,
            "identity_token": self.token,
            "status": self.status,
            "drive": self.drive.to_dict(),
            "error": self.problem.diagnostics() if self.problem else None,
            "reasons": [r.to_dict() for r in reasons],
            "wipe": self.wipe.to_dict() if self.wipe else None,
            "sanitize": self.sanitize.to_dict() if self.sanitize else None,
            "verification": self.verification.to_dict() if self.verification else None,
            "pass_verifications": [v.to_dict() for v in self.pass_verifications],
            "certificate": str(self.certificate.path) if self.certificate else None,
            "certificate_id": self.certificate_id,
            "ledger_documents_destroyed": list(self.ledger_documents),
            "ledger_queued": self.ledger_queued,
            "certificate_outcome": self.certificate.outcome if self.certificate else None,
        }
