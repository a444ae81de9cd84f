"""What a crypto-erase or a whole-drive wipe did, as the certificate sees it: a document
key destroyed, a LUKS volume erased, a drive wiped.

Apart from the files' outcomes (``outcomes``): each frozen dataclass costs about half a
millisecond to build at import, and a one-file shred needs none of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from expunge.certificates.subjects import FileSubject
from expunge.core.outcome import Outcome
from expunge.shred.journal import JournalEvent
from expunge.shred.methods import Method
from expunge.shred.report import Limitation, PassResult, WipeReport
from expunge.verify import VerificationReport
from expunge.workflows.certify.outcomes import checked_status, mismatch_found

if TYPE_CHECKING:
    # Annotations only: a key erasure never loads the drive code, nor a drive the LUKS code.
    from expunge.drives import Drive
    from expunge.ledger.keystore import DestroyedKey
    from expunge.shred import luks
    from expunge.workflows.certify.device_work import SanitizeWork


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
