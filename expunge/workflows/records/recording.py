"""Recording destructions: ``destroy`` events citing the certificate that proves them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from expunge.certificates import FileSubject, is_drive
from expunge.core.errors import ExpungeError, UsageError

if TYPE_CHECKING:
    from expunge.ledger.events import Destroy
    from expunge.ledger.store import LedgerStore
    from expunge.workflows.certify import IssuedCertificate


@dataclass(frozen=True)
class RecordedDestroy:
    """A ``destroy`` event appended for a certificate."""

    seq: int
    doc_id: str
    paths: tuple[str, ...]
    media: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "seq": self.seq,
            "doc_id": self.doc_id,
            "paths": list(self.paths),
            "media": list(self.media),
        }


@dataclass(frozen=True)
class LedgerUpdate:
    """What the ledger recorded for one certificate, and what it did not and why.

    ``notes`` name registered locations that were destroyed but not recorded (content not
    the registered one, certificate not a success); ``failure`` is why appending failed,
    if it did (the certificate is issued all the same); ``queued`` is the outbox file that
    holds the record instead, when the shared ledger could not take it.
    """

    recorded: tuple[RecordedDestroy, ...] = ()
    notes: tuple[str, ...] = ()
    failure: ExpungeError | None = field(default=None, compare=False)
    queued: str | None = None

    @property
    def error(self) -> str | None:
        """The failure as one line."""
        return self.failure.diagnostics() if self.failure else None

    @property
    def documents(self) -> tuple[str, ...]:
        """The documents recorded destroyed (at some location) by this certificate."""
        return tuple(r.doc_id for r in self.recorded)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "recorded": [r.to_dict() for r in self.recorded],
            "notes": list(self.notes),
            "error": self.error,
            "queued": self.queued,
        }


def destroy_event(
    issued: IssuedCertificate,
    doc_id: str,
    paths: Sequence[str],
    media: Sequence[str],
    key_erased: bool = False,
    *,
    recorded_later: bool = False,
) -> Destroy:
    """The ``destroy`` event of ``doc_id``'s locations at ``paths`` / on ``media``, citing
    ``issued`` (``recorded_later``: delivered from the outbox)."""
    # Imported here: a station without a ledger never builds an event.
    from expunge.ledger.events import Destroy

    certificate = issued.certificate
    return Destroy(
        doc_id=doc_id,
        method=certificate.sanitization.method_name,
        certificate_id=certificate.certificate_id,
        certificate_digest=issued.envelope.payload_sha256,
        envelope=issued.envelope.to_dict(),
        paths=tuple(paths),
        media=tuple(media),
        key_erased=key_erased,
        recorded_later=recorded_later,
    )


def _append(
    store: LedgerStore,
    issued: IssuedCertificate,
    make: Callable[[], list[Destroy]],
    notes: list[str],
    *,
    actor: str,
    now: datetime,
    whole: bool = True,
) -> LedgerUpdate:
    if whole and issued.outcome != "success":
        notes.append(
            f"the certificate records {issued.outcome}, not success: the ledger records no "
            "destruction (run the destruction again)"
        )
        return LedgerUpdate(notes=tuple(notes))
    try:
        events = make()
        entries = store.append_many(events, actor=actor, now=now)
    except ExpungeError as exc:
        exc.message = f"the ledger could not record certificate {issued.path}: {exc.message}"
        return LedgerUpdate(notes=tuple(notes), failure=exc)
    recorded = tuple(
        RecordedDestroy(e.seq, ev.doc_id, ev.paths, ev.media)
        for e, ev in zip(entries, events, strict=True)
    )
    return LedgerUpdate(recorded, tuple(notes))


def record_files_destroyed(
    store: LedgerStore,
    issued: IssuedCertificate,
    documents: Mapping[str, Sequence[str]],
    notes: Sequence[str] = (),
    *,
    actor: str,
    now: datetime,
) -> LedgerUpdate:
    """One ``destroy`` event per document of ``documents`` (doc id -> its paths the
    certificate covers), citing ``issued``, in one transaction.

    A document is recorded when the certificate records each of its paths destroyed and
    verified, whatever became of the run's other files: a tree interrupted half-way, or
    with one unreadable file, has still destroyed the documents it finished, and nothing
    could destroy them again later.
    """
    pending = list(notes)
    gone = {
        record.subject.raw_path
        for record in issued.certificate.subjects
        if isinstance(record.subject, FileSubject) and record.destroyed
    }
    finished = {d: paths for d, paths in documents.items() if set(paths) <= gone}
    for doc_id in documents.keys() - finished.keys():
        pending.append(
            f"{doc_id}: the certificate does not record it destroyed and verified "
            f"({issued.outcome}): the ledger records no destruction (run it again)"
        )
    if not finished:
        return LedgerUpdate(notes=tuple(pending))
    return _append(
        store,
        issued,
        lambda: [destroy_event(issued, d, paths, ()) for d, paths in finished.items()],
        pending,
        actor=actor,
        now=now,
        whole=False,
    )


def record_key_erased(
    store: LedgerStore,
    issued: IssuedCertificate,
    doc_id: str,
    paths: Sequence[str],
    notes: Sequence[str] = (),
    *,
    actor: str,
    now: datetime,
) -> LedgerUpdate:
    """One ``destroy`` event with ``key_erased`` for the sealed document ``doc_id`` (and the
    files at ``paths`` overwritten with it), citing ``issued``; only for a success."""
    return _append(
        store,
        issued,
        lambda: [destroy_event(issued, doc_id, paths, (), key_erased=True)],
        list(notes),
        actor=actor,
        now=now,
    )


def record_medium_destroyed(
    store: LedgerStore,
    token: str,
    issued: IssuedCertificate,
    *,
    actor: str,
    now: datetime,
) -> tuple[str, ...]:
    """After a drive certificate: mark every copy recorded on the medium ``token`` destroyed.

    Appends, in one transaction, one ``destroy`` event per document with an outstanding
    copy on ``token``, citing ``issued`` (``media=(token,)``), and returns their ids. Only
    a ``success`` certificate whose drive subject has identity token ``token`` counts;
    otherwise nothing is recorded and ``()`` returned. Ledger errors propagate.
    """
    drives = [r.subject for r in issued.certificate.subjects if is_drive(r.subject)]
    if not any(d.identity_token == token for d in drives):
        raise UsageError(
            f"certificate {issued.certificate.certificate_id} does not wipe medium {token}",
            target=str(issued.path),
        )
    if issued.outcome != "success":
        return ()
    # Imported here: a file's destruction never looks documents up by medium.
    from expunge.workflows.records.lookup import _medium_documents

    doc_ids = _medium_documents(store, token, now)
    if doc_ids:
        store.append_many(
            [destroy_event(issued, d, (), (token,)) for d in doc_ids], actor=actor, now=now
        )
    return tuple(doc_ids)
