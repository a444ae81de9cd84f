"""``expunge fill``: the free space of a mounted filesystem overwritten, read back, given
back, and certified.

Order: judge the filesystem (refusals write nothing), journal the fill, refill FAT's free
directory entries, run every pass (the first creates the fill files, the others rewrite
them in place), read the fill files back against the final pass, remove them, certify.
A stop keeps the files and the journal: ``--resume`` goes on from the last durable file.
"""

from __future__ import annotations

import errno
import os
import secrets
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from expunge.core.clock import utc_now
from expunge.core.errors import ExpungeError, MediaIOError, UsageError, VerificationError
from expunge.core.outcome import Outcome
from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.shred.methods import Method, is_crypto_erase, resolve
from expunge.shred.report import PassResult
from expunge.verify import VerificationReport, VerifyMode, VerifyOptions
from expunge.workflows import certify
from expunge.workflows.certify.drafts.fill import fill_draft
from expunge.workflows.certify.space_work import FillWork
from expunge.workflows.fill.flush import checkpoint
from expunge.workflows.fill.limits import JOURNALED, fill_limitations
from expunge.workflows.fill.names import refill_names
from expunge.workflows.fill.reserve import held_back, released_reserve
from expunge.workflows.fill.state import FillJournal, pending_fill, start_or_resume
from expunge.workflows.fill.target import FillTarget, open_target
from expunge.workflows.fill.writer import Filler

FOLDER_PREFIX = ".expunge-fill-"


@dataclass(frozen=True)
class FillRequest:
    """What ``expunge fill`` was asked to do."""

    mountpoint: str
    method: Method
    verify: VerifyOptions = field(default_factory=VerifyOptions)
    resume: bool = False


@dataclass(frozen=True)
class FillResult:
    """The fill and its certificate."""

    work: FillWork
    certificate: certify.IssuedCertificate | None

    @property
    def failure(self) -> ExpungeError | None:
        """What the exit code reports: a failed read-back (5), a fill that did not
        complete (6); None on success or interruption (the signal decides)."""
        work = self.work
        if work.status in (Outcome.SUCCESS, Outcome.INTERRUPTED):
            return None
        if work.verification_failed:
            return VerificationError(
                "the fill files did not read back as written",
                target=work.mountpoint,
                remedy="check the medium; its free space may not hold what was written",
            )
        return MediaIOError(
            "the free space was not completely overwritten (see the errors above)",
            target=work.mountpoint,
            remedy="check the medium and fill it again",
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            **self.work.to_dict(),
            "certificate": str(self.certificate.path) if self.certificate else None,
            "certificate_outcome": self.certificate.outcome if self.certificate else None,
        }


def fill_free_space(
    request: FillRequest,
    station: certify.Station,
    *,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
    cert_out: Path | None = None,
) -> FillResult:
    """Fill, verify, free and certify the free space of ``request.mountpoint``."""
    if is_crypto_erase(request.method):
        raise UsageError(
            f"{request.method.name} erases keys, not free space",
            target="--method",
            remedy="use an overwrite method (see 'expunge methods')",
        )
    target, root_fd = open_target(request.mountpoint)
    try:
        journal, folder_fd, resumed = _journal(request, target, root_fd, station)
        try:
            work = _Fill(target, root_fd, folder_fd, journal, request, progress, stop).run(resumed)
        finally:
            os.close(folder_fd)
    finally:
        os.close(root_fd)
    reason = stop.reason if stop is not None and stop.is_set() else None
    issued = certify.issue(fill_draft(work, request.verify.mode, reason), station, cert_out)
    if not work.interrupted:
        journal.complete()
    return FillResult(work, issued)


def _journal(
    request: FillRequest, target: FillTarget, root_fd: int, station: certify.Station
) -> tuple[FillJournal, int, bool]:
    """The fill's journal, a descriptor on its fill folder, and whether it is resumed."""
    passes = resolve(request.method)
    folder = station.home.journal
    pending = pending_fill(folder, target)
    made = None
    if pending is None and not request.resume:
        name = FOLDER_PREFIX + secrets.token_hex(4)
        os.mkdir(name, 0o700, dir_fd=root_fd)
        made = (name, os.stat(name, dir_fd=root_fd).st_ino)
    journal, resumed = start_or_resume(
        folder, target, request.method.name, passes, resume=request.resume, fill_folder=made
    )
    try:
        folder_fd = os.open(
            journal.record.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=root_fd
        )
    except FileNotFoundError:
        raise MediaIOError(
            f"the fill folder {journal.record.folder} is gone",
            target=target.mountpoint,
            remedy=f"remove {journal.path} and fill again",
        ) from None
    return journal, folder_fd, resumed


@dataclass
class _Fill:
    """One fill in progress."""

    target: FillTarget
    root_fd: int
    folder_fd: int
    journal: FillJournal
    request: FillRequest
    progress: ProgressSink
    stop: StopRequest | None
    errors: list[str] = field(default_factory=list)
    held_back: int = 0
    """Bytes of ext4 reserved clusters the fill could not take."""
    unflushed: bool = False
    """The journal could not be checkpointed before the fill files were removed."""

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def run(self, resumed: bool) -> FillWork:
        started = utc_now()
        if resumed:
            self.journal.note("resumed")
        names = self.journal.record.names_refilled if self.target.fat else None
        filler = Filler(self.folder_fd, self.target, self.journal, self.progress, self.stop)
        done = False
        try:
            if self.target.fat and not self.journal.record.names_done:
                names = refill_names(
                    self.root_fd, self.journal, self.journal.record.folder, lambda: self.stopped
                )
            done = names is not None or not self.target.fat
            done = done and self._passes(filler)
        except ExpungeError as exc:
            self.errors.append(exc.diagnostics())
            done = False
        interrupted = not done and not self.errors
        passes = self._pass_results(started)
        checks: tuple[tuple[int, VerificationReport], ...] = ()
        if self.journal.record.removing:
            # Killed while removing the fill files: what the read-back found then is lost.
            self.errors.append(
                "the fill was stopped while its files were being removed; the read-back of "
                "that run was not recorded"
            )
        elif done:
            if not checkpoint(self.root_fd) and self.target.kind in JOURNALED:
                self.unflushed = True
            if self.request.verify.mode != VerifyMode.NONE:
                checks = filler.verify(self.journal.record.passes[-1], self.request.verify)
        removed = False
        if interrupted:
            self.journal.note("interrupted")
        else:
            removed = self._remove()
        record = self.journal.record
        return FillWork(
            mountpoint=self.target.mountpoint,
            kind=self.target.kind,
            source=self.target.source,
            device=self.target.device,
            free_before=self.target.free,
            method=self.request.method,
            passes=passes,
            planned_passes=len(record.passes),
            files=len(record.files),
            bytes_filled=sum(f.size for f in record.files),
            names_refilled=self.journal.record.names_refilled if self.target.fat else None,
            checks=checks,
            removed=removed,
            started=record.started,
            finished=utc_now(),
            limitations=fill_limitations(self.target, self.held_back, self.unflushed),
            errors=tuple(self.errors),
            interrupted=interrupted,
            events=record.events,
        )

    def _passes(self, filler: Filler) -> bool:
        """Every pass from the journal's; False when stopped."""
        patterns = self.journal.record.passes
        while self.journal.record.pass_index <= len(patterns):
            index = self.journal.record.pass_index
            pattern = patterns[index - 1]
            if index == 1:
                with released_reserve(self.target) as released:
                    if not released and held_back(self.target):
                        self.held_back = held_back(self.target)
                    ok = filler.first_pass(pattern)
            else:
                ok = filler.rewrite(pattern, index)
            if not ok:
                return False
            done = (*self.journal.record.passes_done, utc_now())
            self.journal.update(pass_index=index + 1, file_index=0, passes_done=done)
        return True

    def _pass_results(self, started: datetime) -> tuple[PassResult, ...]:
        """Each pass as the certificate records it: over all the fill files at once."""
        record = self.journal.record
        total = sum(f.size for f in record.files)
        results = []
        begin = record.started
        for number, ended in enumerate(record.passes_done, start=1):
            pattern = record.passes[number - 1]
            if number != len(record.passes):
                pattern = pattern.without_key()
            results.append(PassResult(number, pattern, total, total, begin, ended, True))
            begin = ended
        if record.pass_index <= len(record.passes) and (record.files or record.pass_index > 1):
            # The pass in progress when the fill stopped.
            number = record.pass_index
            written = (
                total if number == 1 else sum(f.size for f in record.files[: record.file_index])
            )
            pattern = record.passes[number - 1]
            results.append(
                PassResult(number, pattern, total, written, max(begin, started), utc_now(),
                           True, interrupted=True)
            )  # fmt: skip
        return tuple(results)

    def _remove(self) -> bool:
        """Remove the fill files and their folder; the space is free again."""
        self.journal.update(removing=True)
        try:
            for entry in os.listdir(self.folder_fd):
                os.unlink(entry, dir_fd=self.folder_fd)
            os.rmdir(self.journal.record.folder, dir_fd=self.root_fd)
            with suppress(OSError):
                os.fsync(self.root_fd)
        except OSError as exc:
            self.errors.append(
                f"the fill files in {self.journal.record.folder} could not be removed: "
                f"{os.strerror(exc.errno or errno.EIO)}"
            )
            return False
        return True
