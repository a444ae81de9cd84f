"""The end of every destruction: its certificate issued, then recorded in the ledger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from expunge.certificates import LedgerAnchor
from expunge.core.clock import utc_now
from expunge.core.errors import ExpungeError
from expunge.core.progress import StopRequest
from expunge.workflows import certify, cryptoerase, records
from expunge.workflows.destroy.outcome import Destruction
from expunge.workflows.destroy.request import ShredRequest
from expunge.workflows.destroy.runlog import RunLog

if TYPE_CHECKING:
    from expunge.workflows.certify.erase_work import KeyErasureOutcome


def _anchor(ledger: records.LedgerLink | records.Deferred | None) -> LedgerAnchor | None:
    if not isinstance(ledger, records.LedgerLink):
        return None
    try:
        return records.current_anchor(ledger.store)
    except ExpungeError:
        # The destruction is done: its certificate is issued even when the ledger cannot
        # be read; recording then fails too, and says why.
        return None


def certify_and_record(
    done: Destruction,
    request: ShredRequest,
    stop: StopRequest | None,
    station: certify.Station,
    cert_out: Path | None,
    ledger: records.LedgerLink | records.Deferred | None,
    registered: Mapping[str, Sequence[records.RegisteredLocation]],
    notes: Sequence[str] = (),
    erasure: KeyErasureOutcome | None = None,
    log: RunLog | None = None,
) -> Destruction:
    """Issue the certificate of ``done`` and record it in the ledger.

    With ``log``, the certificate is logged as soon as it is written: a run killed before
    the ledger recorded it only needs that record made. A destruction of no file (a tree
    of empty folders, removed) gets no certificate: one with no subject could only say
    "failed", while nothing failed and no data was destroyed. A ``Deferred`` ledger (the
    shared one unreachable), or a shared ledger that went away before the record was
    committed, gets the record queued in the station's outbox (``records.deliver``).
    """
    if not done.files and erasure is None:
        return done
    digests = {f.path: f.content_digest for f in done.files if f.path in registered}
    documents, unconfirmed = records.confirmed_documents(registered, digests)
    stopped = done.interrupted and stop is not None
    draft = certify.files_draft(
        done,
        request.method,
        request.verify.mode,
        keep=request.keep,
        documents=records.document_ids(documents),
        anchor=_anchor(ledger),
        notes=[*notes, records.DEFERRED_NOTE] if isinstance(ledger, records.Deferred) else notes,
        interrupted_by=(stop.reason or "signal") if stop is not None and stopped else None,
        erasure=erasure,
        classification=records.classification_of(registered, documents),
    )
    noted = None if log is None else log.certifying
    issued = certify.issue(draft, station, cert_out, before_write=noted)
    update = None
    if erasure is not None:
        cryptoerase.record_key_certificate(
            station.home, erasure.doc_id, issued.certificate.certificate_id
        )
    if isinstance(ledger, records.Deferred):
        queued = records.queue_record(station.home, issued, ledger.actor)
        update = records.LedgerUpdate(notes=tuple(unconfirmed), queued=str(queued))
    elif ledger is not None and erasure is not None:
        update = records.record_key_erased(
            ledger.store,
            issued,
            erasure.doc_id,
            documents.get(erasure.doc_id, ()),
            unconfirmed,
            actor=ledger.actor,
            now=utc_now(),
        )
    elif ledger is not None:
        update = records.record_files_destroyed(
            ledger.store, issued, documents, unconfirmed, actor=ledger.actor, now=utc_now()
        )
        update = records.queue_if_unreachable(station.home, issued, update, ledger.actor)
    return replace(done, certificate=issued, ledger=update)
