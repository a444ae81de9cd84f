"""What a destruction did, as the certificate sees it: files (key erasures, LUKS erases
and drives are in ``erase_work``).

These are the inputs of ``drafts`` and ``claims``; the workflows above build them and add
what was issued and recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from expunge.core import paths
from expunge.core.outcome import Outcome
from expunge.shred.journal import JournalEvent
from expunge.shred.report import WipeReport
from expunge.verify import VerificationReport


def checked_status(wipe_status: str, checks: Iterable[VerificationReport]) -> Outcome:
    """An overwrite's status, failed by any read-back that did not match: nothing is ever
    ``success`` with a verification that found a mismatch."""
    if wipe_status != Outcome.SUCCESS:
        return Outcome(wipe_status)
    found = list(checks)
    if any(v.interrupted for v in found):
        return Outcome.INTERRUPTED
    if any(v.status == "failed" for v in found):
        return Outcome.FAILED
    return Outcome.SUCCESS


def mismatch_found(checks: Iterable[VerificationReport]) -> bool:
    """A read-back found content other than what was written (not merely cut short)."""
    return any(v.status == "failed" and not v.interrupted for v in checks)


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """One file: what the overwrite did, what read-back found, whether it is gone."""

    path: str
    wipe: WipeReport
    verification: VerificationReport | None = None
    pass_verifications: tuple[VerificationReport, ...] = ()
    content_digest: str | None = None
    journal_events: tuple[JournalEvent, ...] = ()

    @property
    def checks(self) -> tuple[VerificationReport, ...]:
        """Every read-back of this file: after each pass (``--verify-all``), then the final."""
        return (*self.pass_verifications, *(v for v in [self.verification] if v))

    @property
    def verified(self) -> bool:
        """Whether the final pass was read back and matched (False when not verified)."""
        return self.verification is not None and self.verification.status == "success"

    @property
    def status(self) -> Outcome:
        """The overwrite's status, failed by any read-back that did not match."""
        return checked_status(self.wipe.status, self.checks)

    @property
    def verification_failed(self) -> bool:
        """A read-back found content other than what was written."""
        return mismatch_found(self.checks)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            **paths.path_fields(self.path),
            "status": self.status,
            "content_blake3": self.content_digest,
            "wipe": self.wipe.to_dict(),
            "verification": self.verification.to_dict() if self.verification else None,
            "pass_verifications": [v.to_dict() for v in self.pass_verifications],
            "plan": None,
        }


@dataclass(frozen=True)
class FilesWork:
    """One top-level target (a file, a directory and everything in it, or a document)
    and what destroying it did, before it is certified."""

    target: str
    kind: Literal["file", "directory", "document"]
    files: tuple[FileOutcome, ...]
    started: datetime
    finished: datetime
    removed_entries: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    interrupted: bool = False
    left: tuple[str, ...] = ()
    """Planned entries not acted on because they changed since they were checked."""

    @property
    def status(self) -> Outcome:
        """``success`` only when every file succeeded and nothing else went wrong."""
        statuses = [f.status for f in self.files]
        if self.interrupted or Outcome.INTERRUPTED in statuses:
            return Outcome.INTERRUPTED
        if not self.errors and not self.left and all(s == Outcome.SUCCESS for s in statuses):
            return Outcome.SUCCESS
        if Outcome.SUCCESS in statuses or Outcome.PARTIAL in statuses:
            return Outcome.PARTIAL
        return Outcome.FAILED
