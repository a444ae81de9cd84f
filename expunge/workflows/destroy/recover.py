"""Finishing runs that died: every run log nobody holds becomes its certificate and record.

For each file a dead run started, its wipe journal (in the log, or in the journal folder)
says which passes are durable and holds the final pass's key; the run log says whether it
was read back and whether its name is gone. What the run would have done next is done now
(the read-back of a file whose passes all completed, the removal of its name), never
more: a file whose passes did not all complete is certified as interrupted and keeps its
journal, written to the journal folder, for ``--resume``. The certificate says the run
was interrupted and completed from its log; the ledger records the documents confirmed
before the first write. A run that died after its certificate was written only has its
ledger record made.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from expunge.certificates import FileSubject, keyid, read_envelope, verify_envelope
from expunge.core import paths
from expunge.core.clock import utc_now
from expunge.core.errors import ExpungeError
from expunge.shred import files
from expunge.shred.files import FileOptions
from expunge.shred.journal import WipeJournal
from expunge.shred.methods import Method
from expunge.shred.report import WipeReport
from expunge.shred.resume import earlier_passes
from expunge.verify import VerificationReport, VerifyOptions, make_plan, verify_path
from expunge.workflows import certify, records
from expunge.workflows.certify.outcomes import FileOutcome
from expunge.workflows.destroy.files import shred_paths
from expunge.workflows.destroy.logged_journal import LoggedJournal
from expunge.workflows.destroy.logged_run import FileSteps, LoggedRun, journal_of, read_log
from expunge.workflows.destroy.outcome import Destruction
from expunge.workflows.destroy.record import certify_and_record
from expunge.workflows.destroy.request import ShredRequest
from expunge.workflows.destroy.runlog import RunLog, abandoned_logs, logged_target

# A killed run's files may be anything the checks accepted then; the checks are not run
# again to finish removing a name that was already overwritten.
_FINISHING = FileOptions(allow_hardlinks=True, accept_limitations=True, force=True)


@dataclass(frozen=True)
class Recovered:
    """One dead run finished: its certificate (issued now, or found) and what was recorded."""

    log: Path
    target: str
    destruction: Destruction | None
    certificate: str | None
    pending: tuple[str, ...] = ()
    """Files whose overwrite had not completed: their journal is kept for ``--resume``."""

    def line(self) -> str:
        """What the operator is told."""
        if self.destruction is None and self.certificate is None:
            return (
                f"an interrupted run of {self.target} left an unfinished overwrite of "
                f"{', '.join(self.pending)}: finish it with 'expunge shred --resume' "
                "(with the same method), or 'expunge destroy' for a document"
            )
        if self.destruction is not None and self.destruction.certificate is not None:
            cert = self.destruction.certificate
            return (
                f"finished an interrupted run of {self.target}: certificate ({cert.outcome}) "
                f"{cert.path}"
            )
        return (
            f"recorded the certificate of an interrupted run of {self.target}: {self.certificate}"
        )


def _request(header: Mapping[str, Any]) -> ShredRequest:
    m = header["method"]
    shuffle = tuple(m["shuffle"]) if m["shuffle"] else None
    method = Method(m["name"], tuple(m["passes"]), m["source"], m["note"], shuffle)
    v = header["verify"]
    verify = VerifyOptions(v["mode"], v["coverage"], v["every_pass"])
    return ShredRequest(
        paths=(header["target"],), method=method, verify=verify, keep=header["keep"]
    )


def _present(steps: FileSteps) -> bool:
    try:
        st = os.stat(steps.identity.path, follow_symlinks=False)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (steps.identity.device, steps.identity.inode)


def _unlink_scrubbed(steps: FileSteps) -> None:
    """Unlink the file's last random name, found in its folder by inode, if it is there."""
    ident = steps.identity
    with contextlib.suppress(OSError, ExpungeError):
        dir_fd, _ = files.open_parent(ident.path)
        try:
            for name in os.listdir(dir_fd):
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if (st.st_dev, st.st_ino) == (ident.device, ident.inode):
                    os.unlink(name, dir_fd=dir_fd)
                    os.fsync(dir_fd)
                    return
        finally:
            os.close(dir_fd)


def _verify_now(
    steps: FileSteps, journal: WipeJournal, request: ShredRequest
) -> VerificationReport:
    record = journal.record
    plan = make_plan(record.target.size, request.verify.mode, coverage=request.verify.coverage)
    return verify_path(
        steps.identity.path,
        record.passes[-1],
        plan,
        expect_identity=(steps.identity.device, steps.identity.inode),
    )


class _Finisher:
    def __init__(self, station: certify.Station, log: RunLog, run: LoggedRun) -> None:
        self.station = station
        self.log = log
        self.run = run
        self.request = _request(run.header)
        self.finished: list[WipeJournal] = []

    def outcome(self, steps: FileSteps) -> FileOutcome | None:
        journal = journal_of(self.station.home.journal, steps)
        if journal is None:
            return None  # never written: its journal comes before its first byte
        record = journal.record
        passes = tuple(earlier_passes(record))
        report = WipeReport(
            steps.identity,
            self.request.method.name,
            passes,
            len(record.passes),
            steps.limitations,
            interrupted=not record.finished,
        )
        base = FileOutcome(steps.identity.path, report, None, (), steps.digest, record.events)
        if not record.finished:
            # Keeps its journal, in the journal folder (where it was only in the log):
            # '--resume' finishes it.
            if isinstance(journal, LoggedJournal):
                journal.materialize()
            return base
        self.finished.append(journal)
        verification = (
            VerificationReport.from_dict(steps.verified) if steps.verified is not None else None
        )
        if verification is None and _present(steps) and str(self.request.verify.mode) != "none":
            verification = _verify_now(steps, journal, self.request)
            self.log.path_step("verified", steps.identity.path, report=verification.to_dict())
        outcome = FileOutcome(
            steps.identity.path, report, verification, (), steps.digest, record.events
        )
        return self.removed(outcome, steps)

    def removed(self, outcome: FileOutcome, steps: FileSteps) -> FileOutcome:
        if self.request.keep or outcome.status != "success":
            return outcome
        if steps.removed or not _present(steps):
            # Removed, or killed while its name was being scrubbed: the random name of a
            # file already truncated to nothing may remain in its folder.
            _unlink_scrubbed(steps)
            return FileOutcome(
                outcome.path,
                outcome.wipe.marked_removed(),
                outcome.verification,
                (),
                outcome.content_digest,
                outcome.journal_events,
            )
        try:
            with files.open_file(steps.identity.path, _FINISHING) as opened:
                files.remove_file(opened)
        except (ExpungeError, OSError) as exc:
            why = exc.diagnostics() if isinstance(exc, ExpungeError) else exc.strerror
            error = f"overwritten, but the name could not be removed: {why}"
            wipe = outcome.wipe
            return FileOutcome(
                outcome.path,
                WipeReport(
                    wipe.identity,
                    wipe.method,
                    wipe.passes,
                    wipe.planned_passes,
                    wipe.limitations,
                    (*wipe.errors, error),
                ),
                outcome.verification,
                (),
                outcome.content_digest,
                outcome.journal_events,
            )
        self.log.path_step("removed", steps.identity.path)
        return FileOutcome(
            outcome.path,
            outcome.wipe.marked_removed(),
            outcome.verification,
            (),
            outcome.content_digest,
            outcome.journal_events,
        )


def _registered(header: Mapping[str, Any]) -> dict[str, tuple[records.RegisteredLocation, ...]]:
    found: dict[str, tuple[records.RegisteredLocation, ...]] = {}
    for entry in header.get("documents", []):
        path = paths.from_fields(entry["path"], entry.get("path_bytes"))
        found[path] = tuple(
            records.RegisteredLocation(
                path, d["doc_id"], d["classification"], d["seq"], d["kind"], d["expected_digest"]
            )
            for d in entry["locations"]
        )
    return found


def _record_only(
    run: LoggedRun, station: certify.Station, ledger: records.LedgerLink | records.Deferred | None
) -> None:
    """The certificate was written before the run died; record it if the ledger lacks it
    (or queue it in the outbox, when the shared ledger cannot be reached)."""
    if ledger is None or run.certificate is None:
        return
    path = Path(run.certificate)
    try:
        envelope = read_envelope(path)
        public = station.key.public_key()
        verified = verify_envelope(envelope, {keyid(public): public})
    except (OSError, ExpungeError):
        return  # not this station's certificate: nothing it could record
    issued = certify.IssuedCertificate(path, verified.certificate, envelope)
    if isinstance(ledger, records.Deferred):
        records.queue_record(station.home, issued, ledger.actor)
        return
    try:
        update = _record_missing(run, issued, ledger)
    except ExpungeError as exc:
        update = records.LedgerUpdate(failure=exc)
    records.queue_if_unreachable(station.home, issued, update, ledger.actor)


def _record_missing(
    run: LoggedRun, issued: certify.IssuedCertificate, ledger: records.LedgerLink
) -> records.LedgerUpdate:
    """Record the documents of the run's header that the ledger does not yet record as
    destroyed by ``issued``."""
    registered = _registered(run.header)
    certificate = issued.certificate
    digests = {
        r.subject.raw_path: r.subject.content_blake3
        for r in certificate.subjects
        if isinstance(r.subject, FileSubject) and r.subject.raw_path in registered
    }
    documents, notes = records.confirmed_documents(registered, digests)
    cited = set()
    for doc_id in documents:
        state = records.document(ledger.store, doc_id, utc_now())
        if any(d.certificate_id == certificate.certificate_id for d in state.destructions):
            cited.add(doc_id)
    missing = {d: p for d, p in documents.items() if d not in cited}
    return records.record_files_destroyed(
        ledger.store, issued, missing, notes, actor=ledger.actor, now=utc_now()
    )


def recover_runs(
    station: certify.Station,
    ledger: records.LedgerLink | records.Deferred | None,
    *,
    resume: bool = False,
) -> tuple[Recovered, ...]:
    """Finish every run log of the station's home that no running process holds.

    Files whose passes all completed are read back (if they were not yet), removed, and
    certified; files whose overwrite had not completed keep their journal and a log of
    their own, to be finished by ``--resume`` (or, with ``resume``, right away: what a
    sweep does before its own work).
    """
    found: list[Recovered] = []
    with abandoned_logs(station.home) as logs:
        for path, fd in logs:
            found.extend(_recover_one(station, ledger, RunLog(path, fd), resume))
    return tuple(found)


def _recover_one(
    station: certify.Station,
    ledger: records.LedgerLink | records.Deferred | None,
    log: RunLog,
    resume: bool,
) -> list[Recovered]:
    run = read_log(log.path)
    if run is None:
        log.finish()  # died before its first step: nothing was written
        return []
    target = logged_target(run.header)
    if run.certificate is not None and Path(run.certificate).exists():
        _record_only(run, station, ledger)
        for steps in run.files:
            journal = journal_of(station.home.journal, steps)
            if journal is not None and journal.record.finished:
                journal.complete()
        log.finish()
        return [Recovered(log.path, target, None, run.certificate)]
    finisher = _Finisher(station, log, run)
    outcomes = [o for o in map(finisher.outcome, run.files) if o is not None]
    finished = [o for o in outcomes if o.status != "interrupted"]
    pending = [o.path for o in outcomes if o.status == "interrupted"]
    found: list[Recovered] = []
    if finished:
        certified = _certify_finished(station, ledger, run, finisher, finished, pending)
        found.append(Recovered(log.path, target, certified, None, tuple(pending)))
    if not pending:
        log.finish()
        return found
    kept = _keep_pending(station, run, pending)
    log.finish()
    if resume and run.header["kind"] != "document":
        found.extend(_resume(station, ledger, finisher.request, pending, kept))
    elif not finished:
        found.append(Recovered(kept.path, target, None, None, tuple(pending)))
    return found


def _certify_finished(
    station: certify.Station,
    ledger: records.LedgerLink | records.Deferred | None,
    run: LoggedRun,
    finisher: _Finisher,
    finished: list[FileOutcome],
    pending: list[str],
) -> Destruction:
    done = Destruction(
        logged_target(run.header),
        run.header["kind"],
        tuple(finished),
        _started(run.header),
        utc_now(),
    )
    notes = [
        "the run was interrupted (its process ended); these files had been overwritten "
        "and were completed from the run's log and wipe journals"
    ]
    if pending:
        notes.append(f"not completed, left to finish with --resume: {', '.join(pending)}")
    cert_out = run.header.get("cert_out")
    certified = certify_and_record(
        done,
        finisher.request,
        None,
        station,
        Path(cert_out) if cert_out else None,
        ledger,
        _registered(run.header),
        notes,
    )
    for journal in finisher.finished:
        journal.complete()
    return certified


def _keep_pending(station: certify.Station, run: LoggedRun, pending: list[str]) -> RunLog:
    """A log of the files still to finish (the old log then goes)."""
    kept = RunLog.create(station.home, {k: v for k, v in run.header.items() if k != "type"})
    for steps in run.files:
        if steps.identity.path in pending:
            kept.file(steps.identity, steps.limitations, steps.digest)
    kept.close()
    return kept


def _resume(
    station: certify.Station,
    ledger: records.LedgerLink | records.Deferred | None,
    request: ShredRequest,
    pending: list[str],
    kept: RunLog,
) -> list[Recovered]:
    """Finish interrupted overwrites now, from their journals, each certified on its own."""
    resumed = replace(request, paths=tuple(pending), resume=True)
    results = shred_paths(resumed, station, ledger=ledger)
    with contextlib.suppress(FileNotFoundError):
        kept.path.unlink()
    return [Recovered(kept.path, r.target, r, None) for r in results]


def _started(header: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(header["started"]))
