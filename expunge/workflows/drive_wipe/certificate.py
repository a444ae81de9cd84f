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
    this medium (by identity token) destroyed, citing the certificate.
    """
    try:
        store = records.existing_ledger(station.home, station)
        unreachable = None
    except LedgerUnreachable as exc:
        # The drive is wiped already: it is certified here all the same, and the copies
        # recorded on it stay open until it is recorded (the problem says so).
        store, unreachable = None, exc
    try:
        if store is not None:
            draft = replace(draft, ledger_anchor=records.current_anchor(store))
        issued = certify.issue(draft, station)
        documents: tuple[str, ...] = ()
        if store is not None and issued.outcome == Outcome.SUCCESS:
            documents = records.record_medium_destroyed(
                store, done.token, issued, actor=station.settings.operator, now=utc_now()
            )
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
    if unreachable is not None:
        problem = LedgerUnreachable(
            f"the drive was wiped and certified ({issued.path}), but the shared ledger is "
            f"unreachable: copies recorded on this medium stay open ({unreachable.message})",
            target=unreachable.target,
            remedy="when the ledger is back, wipe the medium again to close its copies",
        )
        return replace(done, certificate=issued, problem=problem)
    return replace(done, certificate=issued, ledger_documents=documents)
