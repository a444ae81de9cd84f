"""``expunge shred``: every path checked first, then destroyed, certified and recorded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from expunge.core.errors import UsageError
from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.workflows import certify, records
from expunge.workflows.destroy.outcome import Destruction
from expunge.workflows.destroy.plan import Confirm, ShredPlan, plan_shred
from expunge.workflows.destroy.record import certify_and_record
from expunge.workflows.destroy.request import ShredRequest
from expunge.workflows.destroy.run import FileDestroyer
from expunge.workflows.destroy.runlog import (
    RunLog,
    documents_header,
    drop_spent_logs,
    header_for,
    pending_digests,
    reserve_record,
)


def plan_paths(
    request: ShredRequest,
    station: certify.Station,
    *,
    confirm: Confirm | None = None,
    cert_out: Path | None = None,
    ledger: records.LedgerLink | records.Deferred | None = None,
    recovered: Sequence[Destruction] = (),
) -> ShredPlan:
    """The plan of destroying every path of ``request`` at this station: every check
    (file checks, pending journals, the station's own home, documents' classification),
    then the operator's ``confirm`` of each file; nothing is written."""
    if cert_out is not None and len(request.paths) != 1:
        raise UsageError(
            "--cert-out names one certificate, but several paths were given",
            target="--cert-out",
            remedy="give one path per command, or let certificates go to the home folder",
        )
    home = station.home
    return plan_shred(
        request,
        ledger,
        home=home.root,
        journals=home.journal,
        confirm=confirm,
        recovered=recovered,
    )


def execute(
    plan: ShredPlan,
    station: certify.Station,
    *,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
    cert_out: Path | None = None,
    ledger: records.LedgerLink | records.Deferred | None = None,
) -> tuple[Destruction, ...]:
    """Destroy what ``plan`` names, one signed certificate per path that was acted on.

    ``stop`` ends the work after the current buffer, and what was done is still
    certified, as interrupted. A path whose files were all declined gets no certificate.
    With ``ledger``, each certificate records the ledger anchor and the document ids of
    the files whose content was confirmed, and a successful one is recorded by
    ``destroy`` events citing it.
    """
    request = plan.request
    if any(t.chosen or (t.kind == "directory" and not t.recovered) for t in plan.targets):
        station.ready()
    run = FileDestroyer(request, progress, stop, None, plan.registered, station.home.journal)
    if request.resume:
        run.logged_digests = pending_digests(station.home)
    results: list[Destruction] = []
    for target in plan.targets:
        if run.stopped:
            break
        if target.recovered is not None:
            results.append(target.recovered)
            continue
        if target.kind == "file" and not target.chosen:
            results.append(run.destroy_target(target))  # declined: nothing to certify
            continue
        registered = {
            f.path: plan.registered[f.path] for f in target.files if f.path in plan.registered
        }
        header = header_for(request, target.path, target.kind, cert_out)
        room = reserve_record(station.home, len(target.chosen), len(registered))
        run.log = RunLog.create(station.home, {**header, "documents": documents_header(registered)})
        try:
            done = run.destroy_target(target)
            room.release()
            certified = certify_and_record(
                done, request, stop, station, cert_out, ledger, plan.registered, log=run.log
            )
        except BaseException:
            room.release()
            run.log.close()  # kept: the next command finishes what this one began
            raise
        results.append(certified)
        # Certified and recorded: the journals of finished wipes are no longer needed, and
        # then neither is the log.
        while run.finished:
            run.finished.pop().complete()
        run.log.finish()
    drop_spent_logs(station.home)
    return tuple(results)


def shred_paths(
    request: ShredRequest,
    station: certify.Station,
    *,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
    confirm: Confirm | None = None,
    cert_out: Path | None = None,
    ledger: records.LedgerLink | records.Deferred | None = None,
) -> tuple[Destruction, ...]:
    """Plan, then destroy, every path in ``request`` (``plan_paths``, then ``execute``):
    all of them are refused if any one is, before anything is written."""
    plan = plan_paths(request, station, confirm=confirm, cert_out=cert_out, ledger=ledger)
    return execute(plan, station, progress=progress, stop=stop, cert_out=cert_out, ledger=ledger)
