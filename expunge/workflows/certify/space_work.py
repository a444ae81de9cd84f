"""What a free-space fill did, as the certificate sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from expunge.core.clock import rfc3339
from expunge.core.outcome import Outcome
from expunge.shred.methods import Method
from expunge.shred.report import Limitation, PassResult
from expunge.verify import VerificationReport


@dataclass(frozen=True)
class FillWork:
    """The free space of one filesystem, filled by files, read back and given back.

    ``passes`` are whole-fill passes (``size``: every byte the fill files held);
    ``checks`` the read-back of each fill file after the final pass, with the file's
    offset in the concatenation of all fill files (the certificate's one sample space);
    ``names_refilled`` the free directory entries refilled (FAT), None where not done;
    ``removed`` whether the fill files are gone again.
    """

    mountpoint: str
    kind: str
    source: str
    device: int
    free_before: int | None
    method: Method
    passes: tuple[PassResult, ...]
    planned_passes: int
    files: int
    bytes_filled: int
    names_refilled: int | None
    checks: tuple[tuple[int, VerificationReport], ...]
    removed: bool
    started: datetime
    finished: datetime
    limitations: tuple[Limitation, ...] = ()
    errors: tuple[str, ...] = ()
    interrupted: bool = False
    events: tuple[str, ...] = ()

    @property
    def verification_failed(self) -> bool:
        """A fill file did not read back as written."""
        return any(r.status == "failed" and not r.interrupted for _, r in self.checks)

    @property
    def status(self) -> Outcome:
        """``success`` when every pass filled, every file read back, and the space is free
        again; ``interrupted`` while it can still be resumed."""
        if self.interrupted:
            return Outcome.INTERRUPTED
        if self.verification_failed or not self.passes:
            return Outcome.FAILED
        complete = len(self.passes) == self.planned_passes and all(p.complete for p in self.passes)
        # Read back as asked (``--verify none`` leaves the certificate partial, as shred's).
        verified = all(r.status == "success" for _, r in self.checks)
        if complete and verified and self.removed and not self.errors:
            return Outcome.SUCCESS
        return Outcome.PARTIAL

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "mountpoint": self.mountpoint,
            "filesystem": self.kind,
            "source": self.source,
            "free_before": self.free_before,
            "method": self.method.name,
            "bytes_overwritten": self.bytes_filled,
            "files": self.files,
            "directory_entries_refilled": self.names_refilled,
            "passes": [p.to_dict() for p in self.passes],
            "planned_passes": self.planned_passes,
            "verification": [{"offset": base, **r.to_dict()} for base, r in self.checks],
            "removed": self.removed,
            "limitations": [lim.to_dict() for lim in self.limitations],
            "errors": list(self.errors),
            "events": list(self.events),
            "started": rfc3339(self.started),
            "finished": rfc3339(self.finished),
            "status": self.status,
        }
