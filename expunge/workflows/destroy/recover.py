"""Finishing runs that died: every run log nobody holds becomes its certificate and record.

For each file a dead run started, its wipe journal says which passes are durable and holds
the final pass's key; the run log says whether it was read back and whether its name is
gone. What the run would have done next is done now (the read-back of a file whose passes
all completed, the removal of its name), never more: a file whose passes did not all
complete is certified as interrupted and keeps its journal for ``--resume``. The
certificate says the run was interrupted and completed from its log; the ledger records
the documents confirmed before the first write. A run that died after its certificate was
written only has its ledger record made.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from expunge.certificates import FileSubject, keyid, read_envelope, verify_envelope
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
from expunge.workflows.destroy.outcome import Destruction
from expunge.workflows.destroy.record import certify_and_record
from expunge.workflows.destroy.request import ShredRequest
from expunge.workflows.destroy.runlog import FileSteps, LoggedRun, RunLog, abandoned_logs, read_log

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

    def line(self) -> str:
        """What the operator is told."""
        if self.destruction is not None and self.destruction.certificate is not None:
            cert = self.destruction.certificate
            return (
                f"finished an interrupted run of {self.target}: certificate ({cert.outcome}) "
                f"{cert.path}"
            )
        return (
            f"recorded the certificate of an interrupted run of {self.target}: {self.certificate}"
        )


def header_for(
    request: ShredRequest, target: str, kind: str, cert_out: Path | None
) -> dict[str, Any]:
    """The ``run`` line of a run log: what recovery needs to certify the run as asked."""
    method = request.method
    return {
        "target": target,
        "kind": kind,
        "method": {
            "name": method.name,
            "passes": list(method.passes),
            "source": method.source,
            "note": method.note,
            "shuffle": list(method.shuffle) if method.shuffle else None,
        },
        "verify": {
            "mode": str(request.verify.mode),
            "coverage": request.verify.coverage,
            "every_pass": request.verify.every_pass,
        },
        "keep": request.keep,
        "cert_out": str(cert_out) if cert_out else None,
        "started": utc_now().isoformat(),
    }


def _request(header: Mapping[str, Any]) -> ShredRequest:
    m = header["method"]
    shuffle = tuple(m["shuffle"]) if m["shuffle"] else None
    method = Method(m["name"], tuple(m["passes"]), m["source"], m["note"], shuffle)
    v = header["verify"]
    verify = VerifyOptions(v["mode"], v["coverage"], v["every_pass"])
    return ShredRequest(
        paths=(header["target"],), method=method, verify=verify, keep=header["keep"]
    )


def _journal_of(folder: Path, steps: FileSteps) -> WipeJournal | None:
    ident = steps.identity
    for path in sorted(folder.glob("*.journal.json")):
        try:
            journal = WipeJournal.load(path)
        except ExpungeError:
            continue
        target = journal.record.target
        if (target.path, target.device, target.inode) == (ident.path, ident.device, ident.inode):
            return journal
    return None


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
        journal = _journal_of(self.station.home.journal, steps)
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
            return base  # keeps its journal: '--resume' finishes it
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
    for path, locations in header.get("documents", {}).items():
        found[path] = tuple(
            records.RegisteredLocation(
                path, d["doc_id"], d["classification"], d["seq"], d["kind"], d["expected_digest"]
            )
            for d in locations
        )
    return found


def documents_header(
    registered: Mapping[str, tuple[records.RegisteredLocation, ...]],
) -> dict[str, list[dict[str, Any]]]:
    """The ``documents`` of a run log's header: what the ledger knew at these paths."""
    return {
        path: [
            {
                "doc_id": loc.doc_id,
                "classification": loc.classification,
                "seq": loc.seq,
                "kind": loc.kind,
                "expected_digest": loc.expected_digest,
            }
            for loc in locations
        ]
        for path, locations in registered.items()
    }


def _record_only(
    run: LoggedRun, station: certify.Station, ledger: records.LedgerLink | None
) -> None:
    """The certificate was written before the run died; record it if the ledger lacks it."""
    if ledger is None or run.certificate is None:
        return
    path = Path(run.certificate)
    with contextlib.suppress(OSError, ExpungeError):
        envelope = read_envelope(path)
        public = station.key.public_key()
        verified = verify_envelope(envelope, {keyid(public): public})
        issued = certify.IssuedCertificate(path, verified.certificate, envelope)
        registered = _registered(run.header)
        digests = {
            r.subject.path: r.subject.content_blake3
            for r in verified.certificate.subjects
            if isinstance(r.subject, FileSubject) and r.subject.path in registered
        }
        documents, notes = records.confirmed_documents(registered, digests)
        cited = set()
        for doc_id in documents:
            state = records.document(ledger.store, doc_id, utc_now())
            if any(
                d.certificate_id == verified.certificate.certificate_id for d in state.destructions
            ):
                cited.add(doc_id)
        missing = {d: p for d, p in documents.items() if d not in cited}
        records.record_files_destroyed(
            ledger.store, issued, missing, notes, actor=ledger.actor, now=utc_now()
        )


def recover_runs(
    station: certify.Station, ledger: records.LedgerLink | None
) -> tuple[Recovered, ...]:
    """Finish every run log of the station's home that no running process holds."""
    found: list[Recovered] = []
    with abandoned_logs(station.home) as logs:
        for path, fd in logs:
            run = read_log(path)
            log = RunLog(path, fd)
            if run is None:
                log.finish()  # died before its first step: nothing was written
                continue
            target = str(run.header["target"])
            if run.certificate is not None:
                _record_only(run, station, ledger)
                for steps in run.files:
                    journal = _journal_of(station.home.journal, steps)
                    if journal is not None and journal.record.finished:
                        journal.complete()
                found.append(Recovered(path, target, None, run.certificate))
                log.finish()
                continue
            finisher = _Finisher(station, log, run)
            outcomes = [o for o in map(finisher.outcome, run.files) if o is not None]
            if not outcomes:
                log.finish()
                continue
            done = Destruction(
                target,
                run.header["kind"],
                tuple(outcomes),
                _started(run.header),
                utc_now(),
                interrupted=any(o.status == "interrupted" for o in outcomes),
            )
            cert_out = run.header.get("cert_out")
            notes = (
                "the run was interrupted (its process ended) and was completed from its log "
                "and wipe journals; files whose passes had not all completed are interrupted",
            )
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
            found.append(Recovered(path, target, certified, None))
            log.finish()
    return tuple(found)


def _started(header: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(header["started"]))
