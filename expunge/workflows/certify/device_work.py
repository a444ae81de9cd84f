"""What a drive's own sanitize operation did, as the certificate sees it: the operation
chosen, what the drive reported, and what reading the samples back showed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from expunge.core.clock import rfc3339
from expunge.core.outcome import Outcome
from expunge.shred.patterns import PassPattern
from expunge.shred.report import Limitation
from expunge.verify.differs import ChangeReport


@dataclass(frozen=True)
class SanitizeOperation:
    """What a sanitize method became on one drive.

    ``operation`` is the profile's name for it (``nvme-sanitize-crypto``...);
    ``method_used`` NIST's word for it; ``purge`` whether NIST SP 800-88 counts it as
    Purge once confirmed, and ``basis`` why (or why not); ``expected`` the content every
    block holds afterwards when that is known (zeros after an overwrite with zeros).
    """

    operation: str
    protocol: str
    command: str
    method_used: str
    purge: bool
    basis: str
    expected: PassPattern | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "operation": self.operation,
            "protocol": self.protocol,
            "command": self.command,
            "method_used": self.method_used,
            "purge": self.purge,
            "expected": self.expected.label if self.expected else None,
        }


@dataclass(frozen=True)
class SanitizeWork:
    """A drive's own sanitize: the operation, what the drive said, what read-back found.

    ``completed`` is the drive's report that the operation ended without error;
    ``report`` its words; ``check`` the before/after comparison of the sampled blocks
    (None with ``--verify none`` or when the drive never completed); ``interrupted``
    that polling was stopped while the drive was still working (it goes on by itself).
    """

    operation: SanitizeOperation
    started: datetime
    finished: datetime
    completed: bool
    report: str
    check: ChangeReport | None = None
    limitations: tuple[Limitation, ...] = ()
    errors: tuple[str, ...] = ()
    interrupted: bool = False

    @property
    def confirmed(self) -> bool:
        """The drive reported success and the read-back shows the data gone."""
        return self.completed and self.check is not None and self.check.status == "success"

    @property
    def status(self) -> Outcome:
        """``success`` when the drive completed and no sample contradicts it."""
        if self.interrupted:
            return Outcome.INTERRUPTED
        if not self.completed or self.errors:
            return Outcome.FAILED
        if self.check is not None and self.check.status == "failed":
            return Outcome.FAILED
        return Outcome.SUCCESS

    @property
    def verification_failed(self) -> bool:
        """Read-back found blocks that kept their data (or not the expected content)."""
        return self.check is not None and self.check.mismatches > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            **self.operation.to_dict(),
            "started": rfc3339(self.started),
            "finished": rfc3339(self.finished),
            "completed": self.completed,
            "report": self.report,
            "confirmed": self.confirmed,
            "status": self.status,
            "check": self.check.to_dict() if self.check else None,
            "limitations": [lim.to_dict() for lim in self.limitations],
            "errors": list(self.errors),
        }
