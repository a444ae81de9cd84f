"""``expunge destroy DOC``: a registered document, every reachable copy, one certificate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expunge.core.clock import utc_now
from expunge.core.errors import RefusedError, TargetError
from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.ledger.locations import Location
from expunge.ledger.state import DocumentState
from expunge.shred import files
from expunge.shred.files import FileOptions, OpenFile
from expunge.shred.journal import find_journal
from expunge.workflows import certify, cryptoerase, records
from expunge.workflows.certify.outcomes import FileOutcome
from expunge.workflows.destroy.outcome import AroundDestruction, Destruction
from expunge.workflows.destroy.record import certify_and_record
from expunge.workflows.destroy.request import ShredRequest, Technique
from expunge.workflows.destroy.run import FileDestroyer, fingerprint, prewipe_digest
from expunge.workflows.destroy.runlog import (
    RunLog,
    documents_header,
    drop_spent_logs,
    header_for,
    pending_digests,
    reserve_record,
)


@dataclass(frozen=True)
class DocumentDestruction(AroundDestruction):
    """``expunge destroy DOC``: the files destroyed under one certificate, and the
    recorded locations still outstanding afterwards (media not present, missing paths,
    files whose content was not the document's)."""

    doc_id: str
    classification: str
    destruction: Destruction
    outstanding: tuple[Location, ...]
    untouched: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "doc_id": self.doc_id,
            "classification": self.classification,
            **self.destruction.to_dict(),
            "outstanding": [loc.to_dict() for loc in self.outstanding],
            "untouched": list(self.untouched),
        }


def _open_document_files(
    plan: records.DocumentPlan,
    options: FileOptions,
    journals: Path,
    logged: Mapping[tuple[str, int, int], str],
) -> tuple[list[tuple[OpenFile, str]], list[str]]:
    """Open and check every reachable file, hashing it through the descriptor that will
    be wiped; files whose content is not the document's are closed and left alone.

    A file whose overwrite this station began and was interrupted (a wipe journal for
    that very object, holding what the journaled passes wrote) no longer holds the
    document's content: it is taken, to be resumed, when the digest taken before its
    first write (``prewipe_digest``: from its journal, or ``logged`` by a run that died)
    is the registered one, as ``shred --resume`` confirms it; a journal without one is
    judged by the content as it is now.
    """
    opened: list[tuple[OpenFile, str]] = []
    untouched: list[str] = []
    try:
        for loc in plan.reachable:
            target = files.open_file(loc.path, options)
            try:
                files.check_removable(target.dir_fd, target.name, target.path)
            except BaseException:
                target.close()
                raise
            digest = fingerprint(target.fd)
            pending = find_journal(journals, target.journal_target, fd=target.fd)
            if pending is not None:
                digest = prewipe_digest(pending, target, logged) or digest
            if loc.confirmed_by(digest):
                opened.append((target, digest))
            else:
                target.close()
                untouched.append(loc.path)
    except BaseException:
        for target, _ in opened:
            target.close()
        raise
    return opened, untouched


def _location_note(loc: Location, untouched: Sequence[str]) -> str:
    if loc.path is None:
        return f"medium {loc.medium} (seq {loc.seq}): not present"
    why = "content is not the document's" if loc.path in untouched else "not present"
    return f"{loc.path} (seq {loc.seq}): {why}"


def _refuse_unreachable(state: DocumentState, plan: records.DocumentPlan) -> None:
    """Nothing to overwrite and no key to erase: say why, before anything is written."""
    if not plan.unreachable:
        raise TargetError(
            f"already destroyed (seq {state.destructions[-1].seq}, certificate "
            f"{state.destructions[-1].certificate_id}); nothing is outstanding",
            target=state.doc_id,
            remedy="see 'expunge ledger show'",
        )
    raise TargetError(
        "no recorded location of the document is present: "
        + ", ".join(_location_note(loc, ()) for loc in plan.unreachable),
        target=state.doc_id,
        remedy="mount or attach the medium holding a copy and run again",
    )


def _notes(state: DocumentState, destroyed: Sequence[str], untouched: Sequence[str]) -> list[str]:
    """The certificate's notes: the document, and its recorded locations left standing."""
    left = [
        loc
        for loc in state.locations
        if loc.outstanding and (loc.path is None or loc.path not in destroyed)
    ]
    notes = [f"document {state.doc_id} ({state.classification})"]
    if left:
        notes.append(
            "recorded locations not destroyed: "
            + ", ".join(_location_note(loc, untouched) for loc in left)
        )
    return notes


def destroy_document(
    doc_id: str,
    station: certify.Station,
    ledger: records.LedgerLink,
    technique: Technique,
    *,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
    cert_out: Path | None = None,
) -> DocumentDestruction:
    """Destroy a registered document: the original and every recorded copy present by path,
    under one certificate, recorded by one ``destroy`` event.

    Before anything is written: the method and verification are checked against the
    document's classification, and every present file is opened, checked like ``shred``
    does and hashed; a file whose content is not the registered document's is left
    untouched. Copies on media and at paths that no longer exist stay outstanding; they
    are named in the certificate's notes and in the result. Refused when nothing is left
    to destroy.

    A sealed document is destroyed by cryptographic erase: its key is destroyed in the key
    store (``cryptoerase.erase_document_key``) and the reachable files are overwritten as
    well, under the same certificate; copies out of reach die with the key.
    """
    state = records.document(ledger.store, doc_id, utc_now())
    plan = records.plan_document(state, records.here(ledger.store))
    records.check_policy(plan.reachable, technique.method, technique.verify.mode, ledger.policy)
    sealed = cryptoerase.sealed_and_keyed(state)
    if not plan.reachable and not sealed:
        _refuse_unreachable(state, plan)
    opened, untouched = _open_document_files(
        plan, technique.file_options, station.home.journal, pending_digests(station.home)
    )
    try:
        if not opened and not sealed:
            raise RefusedError(
                f"the file(s) at {', '.join(untouched)} do not hold the registered content",
                target=doc_id,
                remedy="nothing was written; check 'expunge ledger show' and the files",
            )
        # Journaled like every overwrite; an interrupted destruction of this document
        # (a killed sweep, say) is resumed from its journal rather than refused.
        request = ShredRequest(
            paths=tuple(t.path for t, _ in opened),
            method=technique.method,
            verify=technique.verify,
            file_options=technique.file_options,
            resume=True,
        )
        station.ready()
        registered = {loc.path: (loc,) for loc in plan.reachable if loc.path in request.paths}
        header = header_for(request, doc_id, "document", cert_out)
        room = reserve_record(station.home, len(opened), len(registered) or 1)
        log = RunLog.create(station.home, {**header, "documents": documents_header(registered)})
        run = FileDestroyer(
            request,
            progress,
            stop,
            None,
            journal_dir=station.home.journal,
            log=log,
        )
        started = utc_now()
        erasure = None
        if sealed:
            plaintext = tuple(
                loc.path
                for loc in plan.reachable
                if loc.expected_digest is not None and loc.path in request.paths
            )
            erasure = cryptoerase.erase_document_key(station.home, state, plaintext, now=started)
        outcomes: list[FileOutcome] = []
        for target, digest in opened:
            if run.stopped:
                break
            outcomes.append(run.destroy_file(target, digest))
    finally:
        for target, _ in opened:
            target.close()
    # A stop that lands once every file is done interrupts nothing (a file cut short
    # is an interrupted outcome of its own): the destruction stands, certified and
    # recorded, else the document, its files gone, could never be recorded destroyed.
    cut_short = len(outcomes) < len(opened)
    done = Destruction(
        doc_id, "document", tuple(outcomes), started, utc_now(), interrupted=cut_short
    )
    notes = _notes(state, request.paths, untouched)
    room.release()
    try:
        result = certify_and_record(
            done, request, stop, station, cert_out, ledger, registered, notes, erasure, log
        )
    except BaseException:
        log.close()
        raise
    while run.finished:
        run.finished.pop().complete()
    log.finish()
    drop_spent_logs(station.home)
    after = records.document(ledger.store, doc_id, utc_now())
    return DocumentDestruction(
        doc_id,
        state.classification,
        result,
        tuple(loc for loc in after.locations if loc.outstanding),
        tuple(untouched),
    )
