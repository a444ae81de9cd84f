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
from expunge.shred.journal import JournalTarget, WipeJournal
from expunge.shred.methods import resolve
from expunge.shred.overwrite import PassOptions, run_passes
from expunge.shred.report import PassResult, WipeReport
from expunge.shred.resume import JournaledRun, journaled_passes
from expunge.verify import VerificationReport, VerifyMode, make_plan, verify_fd
from expunge.workflows.certify.outcomes import FileOutcome
from expunge.workflows.destroy.outcome import Destruction
from expunge.workflows.destroy.plan import _check_top_level
from expunge.workflows.destroy.request import ShredRequest

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


@dataclass
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

    def destroy_file(self, target: OpenFile) -> FileOutcome:
        hashed = self.request.fingerprint or target.path in self.registered
        digest = fingerprint(target.fd) if hashed else None
        passes = resolve(self.request.method)
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
        if self.journal_dir is None:
            results = run_passes(target.fd, target.identity.size, passes, options, after_pass=after)
        else:
            journaled = journaled_passes(
                target.fd,
                JournalTarget.from_identity(target.identity),
                self.request.method,
                self.journal_dir,
                options,
                resume=self.request.resume,
                stop=self.stop,
                after_pass=after,
            )
            results = journaled.passes
        report = WipeReport(
            identity=target.identity,
            method=self.request.method.name,
            passes=results,
            planned_passes=len(passes),
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
        if journaled is not None and outcome.status != "interrupted":
            self.finished.append(journaled.journal)
        done = outcome.status == "success"
        if not self.request.keep and (done or self.request.remove_on_failure):
            # Verified before the name goes: a failed file is kept for inspection.
            files.remove_file(target)
            outcome = replace(outcome, wipe=report.marked_removed())
        return outcome

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

    def destroy_path(self, path: str) -> Destruction:
        kind = _check_top_level(path, self.request.recursive)
        started = utc_now()
        if kind == "file":
            if self.confirm is not None and not self.confirm(path):
                return Destruction(path, "file", (), started, utc_now(), skipped=(path,))
            with files.open_file(path, self.request.file_options) as target:
                outcome = self.destroy_file(target)
            return Destruction(
                path, "file", (outcome,), started, utc_now(), interrupted=self.stopped
            )
        return self.destroy_tree(path, started)

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def destroy_tree(self, path: str, started: datetime) -> Destruction:
        options = self.request.file_options
        outcomes: list[FileOutcome] = []
        removed: list[str] = []
        skipped: list[str] = []
        errors: list[str] = []
        parent_fd, dir_fd, name = files.open_tree(path, options)
        try:
            for entry in files.walk_tree(dir_fd, path, options):
                if self.stop is not None and self.stop.is_set():
                    break
                if self.confirm is not None and not self.confirm(entry.path):
                    skipped.append(entry.path)
                    continue
                try:
                    if entry.kind == "file":
                        with files.open_file_at(entry.dir_fd, entry.name, entry.path, options) as t:
                            outcomes.append(self.destroy_file(t))
                    elif self.request.keep:
                        continue
                    elif entry.kind == "other":
                        files.remove_other(entry.dir_fd, entry.name)
                        removed.append(entry.path)
                    else:
                        files.remove_directory(entry.dir_fd, entry.name)
                        removed.append(entry.path)
                except ExpungeError as exc:
                    errors.append(exc.diagnostics())
                except OSError as exc:
                    errors.append(f"{entry.path}: {exc.strerror}")
            interrupted = self.stopped
            if not self.request.keep and not interrupted and not errors and not skipped:
                os.close(dir_fd)
                dir_fd = -1
                try:
                    files.remove_directory(parent_fd, name)
                    removed.append(path)
                except OSError as exc:
                    errors.append(f"{path}: not removed: {exc.strerror}")
        finally:
            if dir_fd >= 0:
                os.close(dir_fd)
            os.close(parent_fd)
        return Destruction(
            path,
            "directory",
            tuple(outcomes),
            started,
            utc_now(),
            removed_entries=tuple(removed),
            skipped=tuple(skipped),
            errors=tuple(errors),
            interrupted=interrupted,
        )
