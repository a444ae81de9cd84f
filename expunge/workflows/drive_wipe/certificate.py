"""The certificate of one drive wipe signed, and the ledger's copies on the medium marked
destroyed."""

from __future__ import annotations

from dataclasses import replace

from expunge.core.clock import utc_now
from expunge.core.errors import ExpungeError, LedgerUnreachable, TargetError
from expunge.core.outcome import Outcome
from expunge.workflows import certify, records
from expunge.workflows.drive_wipe.model import DriveWipe


def issue(done: DriveWipe, draft: certify.CertificateDraft, station: certify.Station) -> DriveWipe:
    """Sign the certificate of ``done``, and mark the ledger's copies on it destroyed.

    A failure to write the certificate is the drive's problem. With a ledger, the
    certificate records the ledger's head, and a success marks every copy recorded on
    this medium (by identity token) destroyed, citing the certificate. A shared ledger
    that cannot be reached (at the start, or before the record was committed) gets the
    record queued in the station's outbox: the drive is wiped, and its record follows.
    """
    operator = station.settings.operator
    try:
        store = records.existing_ledger(station.home, station)
        deferred = False
    except LedgerUnreachable:
        store, deferred = None, True
    try:
        if store is not None:
            draft = replace(draft, ledger_anchor=records.current_anchor(store))
        elif deferred:
            notes = "; ".join(n for n in (draft.notes, records.DEFERRED_NOTE) if n)
            draft = replace(draft, notes=notes)
        issued = certify.issue(draft, station)
        documents: tuple[str, ...] = ()
        if store is not None and issued.outcome == Outcome.SUCCESS:
            try:
                documents = records.record_medium_destroyed(
                    store, done.token, issued, actor=operator, now=utc_now()
                )
            except ExpungeError as exc:
                if not records.undeliverable(exc):
                    raise
                deferred = True
        if deferred and issued.outcome == Outcome.SUCCESS:
            queued = records.queue_record(station.home, issued, operator, medium=done.token)
            return replace(done, certificate=issued, ledger_queued=str(queued))
    except ExpungeError as exc:
        return replace(done, problem=exc)
    except OSError as exc:
        problem = TargetError(
            f"the certificate could not be written: {exc.strerror}",
            target=str(station.home.certificates),
            remedy="the drive was wiped; free space or fix permissions and wipe it again",
        )
        return replace(done, problem=problem)
    finally:
        if store is not None:
            store.close()
    return replace(done, certificate=issued, ledger_documents=documents)
