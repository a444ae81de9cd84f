"""Destroying files: overwrite under a journal, read back, remove; trees walked by descriptor."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import blake3

from expunge.core.clock import utc_now
from expunge.core.errors import ExpungeError
from expunge.core.progress import ProgressSink, StopRequest
from expunge.shred import files
from expunge.shred.files import OpenFile
from expunge.shred.journal import WipeJournal, find_journal, new_record
from expunge.shred.methods import resolve
from expunge.shred.overwrite import PassOptions, run_passes
from expunge.shred.report import PassResult, WipeReport
from expunge.shred.resume import JournaledRun, pending_journal, run_journaled
from expunge.verify import VerificationReport, VerifyMode, make_plan, verify_fd
from expunge.workflows.certify.outcomes import FileOutcome
from expunge.workflows.destroy.logged_journal import LoggedJournal
from expunge.workflows.destroy.outcome import Destruction
from expunge.workflows.destroy.plan import TargetPlan
from expunge.workflows.destroy.request import ShredRequest
from expunge.workflows.destroy.runlog import RunLog

_FINGERPRINT_CHUNK = 4 << 20


def fingerprint(fd: int) -> str:
    """BLAKE3 of the file's content, read through the same open file (``/proc/self/fd``)."""
    hasher = blake3.blake3()
    read_fd = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        while chunk := os.read(read_fd, _FINGERPRINT_CHUNK):
            hasher.update(chunk)
    finally:
        os.close(read_fd)
    return hasher.hexdigest()


def prewipe_digest(
    journal: WipeJournal, target: OpenFile, logged: Mapping[tuple[str, int, int], str]
) -> str | None:
    """The content digest taken before the first write of the interrupted wipe that
    ``journal`` (found for ``target``: same object, same journaled bytes) records: kept in
    the journal, or for a journal of an older format, logged by a run that died (``logged``,
    see ``runlog.pending_digests``); None when neither kept it (a Ctrl-C of an older
    version): only the content as it is now is left to judge by."""
    ident = target.identity
    return journal.record.digest or logged.get((ident.path, ident.device, ident.inode))


@dataclass(eq=False)  # work in progress: compared by identity
class FileDestroyer:
    """Destroys the files of one request, one at a time: overwrite (journaled), read back,
    remove; and keeps the journals of finished wipes until their certificate is written."""

    request: ShredRequest
    progress: ProgressSink
    stop: StopRequest | None
    confirm: Callable[[str], bool] | None
    # Registered paths: their content is hashed before wiping, to confirm the document.
    registered: Mapping[str, object] = field(default_factory=dict)
    # Where wipe journals live; without it nothing is journaled (and nothing resumes).
    journal_dir: Path | None = None
    # Journals of wipes whose outcome is final: removed once their certificate is written.
    finished: list[WipeJournal] = field(default_factory=list)
    # The log of the target being destroyed (see runlog): what recovery needs after a kill.
    log: RunLog | None = None
    # Digests logged before the first write by runs that died: for resumed overwrites
    # whose journal is of an older format, without the digest.
    logged_digests: Mapping[tuple[str, int, int], str] = field(default_factory=dict)

    def destroy_file(self, target: OpenFile, digest: str | None = None) -> FileOutcome:
        """Overwrite, read back and remove one checked, open file; ``digest`` is its
        content's, when the caller already read it."""
        hashed = self.request.fingerprint or target.path in self.registered
        if digest is None and hashed:
            digest = self.digest_before_wipe(target)
        journal = self.begin(target, digest)
        options = PassOptions(
            block_size=512,
            buffered=True,
            on_error=self.request.on_error,
            progress=self.progress,
            task=target.path,
            stop=self.stop,
        )
        verify = self.request.verify
        per_pass: list[VerificationReport] = []

        def check_pass(result: PassResult) -> None:
            per_pass.append(self.read_back(target, result))

        after = check_pass if verify.every_pass and verify.mode != VerifyMode.NONE else None
        journaled: JournaledRun | None = None
        if journal is None:
            passes = resolve(self.request.method)
            planned = len(passes)
            results = run_passes(target.fd, target.identity.size, passes, options, after_pass=after)
        else:
            # The journal's passes, with their keys: resolving the method again would only
            # draw keys nobody uses.
            planned = len(journal.record.passes)
            journaled = run_journaled(target.fd, journal, options, stop=self.stop, after_pass=after)
            results = journaled.passes
        report = WipeReport(
            identity=target.identity,
            method=self.request.method.name,
            passes=results,
            planned_passes=planned,
            limitations=target.limitations,
            interrupted=self.stopped,
        )
        final: VerificationReport | None = None
        if verify.every_pass and per_pass and len(per_pass) == len(results):
            final = per_pass.pop()
        elif report.status == "success" and verify.mode != VerifyMode.NONE:
            final = self.read_back(target, results[-1])
        events = journaled.events if journaled else ()
        outcome = FileOutcome(target.path, report, final, tuple(per_pass), digest, events)
        if self.log is not None and final is not None:
            # Durable, with the journal's line before it saying the last pass is.
            self.log.path_step("verified", target.path, report=final.to_dict())
        elif isinstance(journal, LoggedJournal):
            journal.settle()
        if isinstance(journal, LoggedJournal) and outcome.status == "interrupted":
            # Stopped after its last pass but before its read-back, the wipe is unfinished
            # too: its content no longer matches what was registered, so the next run must
            # find its journal to take it up, not refuse the file as changed.
            journal.materialize()
        if journaled is not None and outcome.status != "interrupted":
            kept = journaled.journal
            # A journal still only in the run log has no file to remove once certified:
            # holding 10,000 of them until then was a tenth of a tree's memory.
            if not isinstance(kept, LoggedJournal) or kept.on_disk:
                self.finished.append(kept)
        done = outcome.status == "success"
        if not self.request.keep and (done or self.request.remove_on_failure):
            # Verified before the name goes: a failed file is kept for inspection.
            outcome = _removed(outcome, target)
            if self.log is not None:
                removed = outcome.wipe.removed
                # Not synced: recovery tells a removed name by the file being gone, and a
                # failed removal is tried again; the next durable step carries it anyway.
                self.log.path_step(
                    "removed" if removed else "remove-failed",
                    target.path,
                    durable=False,
                    **({} if removed else {"error": outcome.wipe.errors[-1]}),
                )
        return outcome

    def begin(self, target: OpenFile, digest: str | None) -> WipeJournal | None:
        """Log the file (with ``digest``, its content's before the first write) and open
        the journal its wipe goes under, before the first write: the pending one when
        resuming, else a new one, kept in the run's log when there is one
        (``logged_journal``), else a file; None when nothing is journaled."""
        log, folder, method = self.log, self.journal_dir, self.request.method
        journal: WipeJournal | None = None
        if folder is not None:
            where = target.journal_target
            journal = pending_journal(
                folder, where, method, resume=self.request.resume, fd=target.fd
            )
            if journal is not None:
                journal.record_resume()
            elif log is None:
                return WipeJournal.create(
                    folder, where, method.name, resolve(method), digest=digest
                )
            else:
                record = new_record(where, method.name, resolve(method), digest=digest)
                log.file(target.identity, target.limitations, digest, journal=record)
                return LoggedJournal.in_log(log, folder, record)
        if log is not None:
            log.file(target.identity, target.limitations, digest)
        return journal

    def digest_before_wipe(self, target: OpenFile) -> str:
        """The digest of ``target``'s content as it was before the first write: for an
        interrupted wipe to resume (its content partly overwritten), the one taken before
        its first write (``prewipe_digest``); else, or when that one was not kept, the
        content's as read now."""
        known = None
        if self.journal_dir is not None and self.request.resume:
            pending = find_journal(self.journal_dir, target.journal_target, fd=target.fd)
            if pending is not None:
                known = prewipe_digest(pending, target, self.logged_digests)
        return known or fingerprint(target.fd)

    def read_back(self, target: OpenFile, result: PassResult) -> VerificationReport:
        verify = self.request.verify
        plan = make_plan(target.identity.size, verify.mode, coverage=verify.coverage)
        return verify_fd(
            target.fd,
            result.pattern,
            plan,
            progress=self.progress,
            task=f"{target.path} verify",
            stop=self.stop,
            name=target.path,
        )

    @property
    def stopped(self) -> bool:
        """Whether a stop was requested (Ctrl-C, SIGTERM)."""
        return self.stop is not None and self.stop.is_set()

    def destroy_target(self, target: TargetPlan) -> Destruction:
        """Destroy what ``target`` planned, and only that."""
        started = utc_now()
        if target.kind == "directory":
            return self.destroy_tree(target, started)
        if not target.chosen:
            return Destruction(target.path, "file", (), started, utc_now(), skipped=target.declined)
        (planned,) = target.chosen
        with files.open_file(target.path, self.request.file_options) as opened:
            if not planned.is_object(opened.identity.device, opened.identity.inode):
                left = (f"{target.path}: replaced since it was checked; left alone",)
                return Destruction(target.path, "file", (), started, utc_now(), left=left)
            outcome = self.destroy_file(opened)
        return Destruction(
            target.path, "file", (outcome,), started, utc_now(), interrupted=self.stopped
        )

    def destroy_tree(self, target: TargetPlan, started: datetime) -> Destruction:
        """Replay the tree's plan: its files destroyed, then its folders removed once empty;
        whatever changed since planning is left alone, with the folders holding it."""
        # Imported here: a run of single files never loads the tree code.
        from expunge.shred import folders
        from expunge.workflows.destroy.tree_run import TreeRun

        assert target.tree is not None
        run = TreeRun(self, target)
        parent_fd, dir_fd, name = folders.open_tree(target.path, self.request.file_options)
        try:
            top = os.fstat(dir_fd)
            if (top.st_dev, top.st_ino) != (target.tree.dev, target.tree.ino):
                run.left.append(f"{target.path}: replaced since it was checked; left alone")
            else:
                run.replay(dir_fd)
            removable = not (self.request.keep or self.stopped or run.dirty)
            if removable and not run.errors and not run.left:
                os.close(dir_fd)
                dir_fd = -1
                run.remove_top(parent_fd, name)
        finally:
            if dir_fd >= 0:
                os.close(dir_fd)
            os.close(parent_fd)
        return Destruction(
            target.path,
            "directory",
            tuple(run.outcomes),
            started,
            utc_now(),
            removed_entries=tuple(run.removed),
            skipped=target.declined,
            errors=tuple(run.errors),
            interrupted=self.stopped,
            left=tuple(run.left),
        )


def _removed(outcome: FileOutcome, target: OpenFile) -> FileOutcome:
    """Remove the overwritten file; a removal that fails is recorded, never raised: the
    content is already gone and the certificate must say what became of the name."""
    try:
        files.remove_file(target)
    except (ExpungeError, OSError) as exc:
        why = exc.diagnostics() if isinstance(exc, ExpungeError) else exc.strerror
        error = f"overwritten, but the name could not be removed: {why}"
        return replace(outcome, wipe=replace(outcome.wipe, errors=(*outcome.wipe.errors, error)))
    return replace(outcome, wipe=outcome.wipe.marked_removed())
