"""What a destruction did, as the certificate sees it: files, key erasures, LUKS erases.

These are the inputs of ``drafts`` and ``claims``; the workflows above build them and add
what was issued and recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from expunge.certificates.subjects import FileSubject
from expunge.core import paths
from expunge.core.outcome import Outcome
from expunge.shred.journal import JournalEvent
from expunge.shred.methods import Method
from expunge.shred.report import Limitation, PassResult, WipeReport
from expunge.verify import VerificationReport

if TYPE_CHECKING:
    # Annotations only: a file's destruction never loads the drive, key-store or LUKS code.
    from expunge.drives import Drive
    from expunge.ledger.keystore import DestroyedKey
    from expunge.shred import luks
    from expunge.workflows.certify.device_work import SanitizeWork


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


@dataclass(frozen=True)
class KeyErasureOutcome:
    """A document key destroyed in the key store, with the read-back and scan that prove it."""

    doc_id: str
    key_id: str
    keystore: FileSubject
    destroyed: DestroyedKey
    sealed_first: bool
    """True when no plaintext copy was recorded before the document was sealed."""
    plaintext_copies: tuple[str, ...]
    """Recorded plaintext locations (other than the original) this destruction covers."""
    unsealed_to: tuple[str, ...] = ()
    """Where ``unseal`` wrote plaintext after sealing (recorded by the key store)."""
    limitations: tuple[Limitation, ...] = ()
    """What the certificate must name about the key store (its medium, a migration)."""
    key_unrecoverable: bool = True
    """No copy of the key can be read back from the key store's medium: an in-place
    overwrite reaches its blocks there (and, for a migrated key, the old KEK's)."""

    @property
    def purge(self) -> bool:
        """Every remaining copy is ciphertext and no copy of its key can be recovered."""
        return self.sealed_first and not self.unsealed_to and self.key_unrecoverable

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "doc_id": self.doc_id,
            "key_id": self.key_id,
            "purge": self.purge,
            "plaintext_copies": list(self.plaintext_copies),
            "unsealed_to": list(self.unsealed_to),
            "limitations": [lim.to_dict() for lim in self.limitations],
            **self.destroyed.to_dict(),
        }


@dataclass(frozen=True)
class LuksWork:
    """A LUKS keyslot erase, and the whole-volume overwrite after it (``--then``)."""

    report: luks.LuksEraseReport
    then_method: Method | None = None
    then_passes: tuple[PassResult, ...] = ()
    then_planned: int = 0
    then_check: VerificationReport | None = None
    errors: tuple[str, ...] = ()

    @property
    def passes(self) -> tuple[PassResult, ...]:
        """Every pass: the keyslot erase, then the overwrite passes."""
        return (self.report.pass_result, *self.then_passes)

    @property
    def status(self) -> Outcome:
        """``success`` when the erase read back clean and every ``--then`` pass completed."""
        if self.report.status != "success":
            return Outcome(self.report.status)
        if any(p.interrupted for p in self.then_passes):
            return Outcome.INTERRUPTED
        done = len(self.then_passes) == self.then_planned and all(
            p.complete for p in self.then_passes
        )
        checked = self.then_check is None or self.then_check.status == "success"
        return Outcome.SUCCESS if done and checked and not self.errors else Outcome.FAILED


@dataclass(frozen=True)
class DriveWork:
    """One whole drive and what wiping it did, before it is certified: ``drive`` holds the
    facts re-read after opening when it was opened, else as listed."""

    drive: Drive
    token: str
    started: datetime
    finished: datetime
    wipe: WipeReport | None = None
    verification: VerificationReport | None = None
    pass_verifications: tuple[VerificationReport, ...] = ()
    journal_events: tuple[JournalEvent, ...] = ()
    sanitize: SanitizeWork | None = None
    """The drive's own sanitize operation, for ``-m sanitize``/``secure-erase``/``discard``."""

    @property
    def node(self) -> str:
        """The device node."""
        return self.drive.node

    @property
    def verifications(self) -> tuple[VerificationReport, ...]:
        """Every read-back in order: the passes checked one by one, then the final one."""
        final = () if self.verification is None else (self.verification,)
        return (*self.pass_verifications, *final)

    @property
    def verification_failed(self) -> bool:
        """A read-back found content other than what was written."""
        if self.sanitize is not None:
            return self.sanitize.verification_failed
        return mismatch_found(self.verifications)

    @property
    def written_outcome(self) -> Outcome:
        """How the writing and its read-backs ended; a drive never written to ``failed``."""
        if self.sanitize is not None:
            return self.sanitize.status
        if self.wipe is None:
            return Outcome.FAILED
        return checked_status(self.wipe.status, self.verifications)
