"""Destructions recorded later: what the station queues when the shared ledger cannot take
a record, and how ``ledger sync`` delivers it exactly once.

A queued record is the signed certificate itself (``<home>/outbox/<certificate id>.json``,
see ``ledger/outbox.py``) with who acted and which ledger it is for: nothing about the
ledger is decided at queue time, because a station whose ledger is down cannot know
which of its targets are registered documents. Delivery decides, in one transaction
under the ledger's append lock: the documents with outstanding locations at the
certificate's destroyed paths on this host (confirmed by the content digest the
certificate records) or copies on its wiped medium, less those whose entries already
cite the certificate (a delivery that committed and died before removing the file), get
one ``destroy`` event each, marked ``recorded_later``, chained to the head read under
the lock and signed by the station then. A certificate that destroyed no document is
delivered as nothing (and said so). Only then does the file go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from expunge.certificates import (
    DriveSubject,
    Envelope,
    FileSubject,
    keyid,
    verify_envelope,
)
from expunge.core.clock import rfc3339, utc_now
from expunge.core.config import Home, ledger_location
from expunge.core.errors import ExpungeError, LedgerInDoubt, LedgerUnreachable, RefusedError
from expunge.ledger import outbox
from expunge.ledger.classification import ClassificationPolicy, check_destruction_allowed
from expunge.ledger.entries import Head
from expunge.ledger.events import Destroy, Event
from expunge.ledger.postgres.urls import display_url, is_url
from expunge.ledger.store import LedgerStore
from expunge.shred.methods import Method
from expunge.workflows.certify import IssuedCertificate, Station
from expunge.workflows.records.confirmation import confirmed_documents
from expunge.workflows.records.lookup import _medium_documents, locate
from expunge.workflows.records.policy import describe_rule
from expunge.workflows.records.recording import LedgerUpdate, RecordedDestroy, destroy_event

FORMAT = "expunge-outbox-v1"


def check_every_level(method: Method, verify_mode: str, policy: ClassificationPolicy) -> None:
    """Refuse (exit 3) a method or verification weaker than some level requires: with the
    ledger down, any target may be a document of the strictest level."""
    for level in policy.names:
        reasons = check_destruction_allowed(
            level, method.name, method.pass_count, verify_mode, policy
        )
        if reasons:
            rule = policy.rule(level)
            raise RefusedError(
                "the shared ledger is unreachable, so any target may be a document "
                f"classified {level}: {'; '.join(reasons)}",
                target="--record-later",
                remedy=(describe_rule(rule) if rule else f"define {level} in policy.toml")
                + "; nothing was written",
            )


def _where(home: Home) -> str:
    return display_url(ledger_location(home))


def queue_record(
    home: Home, issued: IssuedCertificate, actor: str, *, medium: str | None = None
) -> Path:
    """Queue the record of ``issued`` (a file destruction, or with ``medium`` the wipe of
    that medium) for the station's shared ledger; returns the queued file."""
    data: dict[str, Any] = {
        "format": FORMAT,
        "ledger": _where(home),
        "certificate": str(issued.path),
        "envelope": issued.envelope.to_dict(),
        "actor": actor,
        "medium": medium,
        "queued": rfc3339(utc_now()),
    }
    return outbox.queue(home.outbox, issued.certificate.certificate_id, data)


def undeliverable(failure: ExpungeError | None) -> bool:
    """Whether a failure to record means the ledger could not be reached (the record then
    goes to the outbox), rather than a refusal the outbox could not cure."""
    return isinstance(failure, LedgerUnreachable | LedgerInDoubt)


def queue_if_unreachable(
    home: Home, issued: IssuedCertificate, update: LedgerUpdate, actor: str
) -> LedgerUpdate:
    """``update``, or, when it failed because the shared ledger went away, the same with
    the record queued instead: a destruction that is done never loses its record."""
    if not undeliverable(update.failure) or not is_url(ledger_location(home)):
        return update
    path = queue_record(home, issued, actor)
    return LedgerUpdate(notes=update.notes, queued=str(path))


@dataclass(frozen=True)
class Delivered:
    """One queued record delivered: the entries appended for it (none: no document)."""

    certificate_id: str
    certificate: str
    recorded: tuple[RecordedDestroy, ...]
    notes: tuple[str, ...] = ()
    already: tuple[str, ...] = ()
    """Documents whose entries already cite the certificate (an earlier delivery that
    committed, then died before removing the file): not recorded again."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "certificate_id": self.certificate_id,
            "certificate": self.certificate,
            "recorded": [r.to_dict() for r in self.recorded],
            "already_recorded": list(self.already),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Kept:
    """A queued record not delivered: why, and whether it is damaged (it does not verify
    as this station's) rather than meant for another ledger."""

    key: str
    reason: str
    damaged: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"certificate_id": self.key, "reason": self.reason, "damaged": self.damaged}


@dataclass(frozen=True)
class Sync:
    """What a delivery did: records delivered, records kept (and why), and the failure
    that stopped it, if the ledger went away again."""

    delivered: tuple[Delivered, ...] = ()
    kept: tuple[Kept, ...] = ()
    failure: ExpungeError | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "delivered": [d.to_dict() for d in self.delivered],
            "kept": [k.to_dict() for k in self.kept],
            "error": self.failure.diagnostics() if self.failure else None,
        }


def _certificate(item: outbox.Queued, station: Station) -> IssuedCertificate:
    """The queued certificate, verified with this station's key (a queued file is
    delivered under the station's signature: it must be the station's own)."""
    data = item.data or {}
    if data.get("format") != FORMAT:
        raise ValueError("not a queued record of this expunge")
    envelope = Envelope.from_dict(data.get("envelope"), "envelope")
    public = station.key.public_key()
    verified = verify_envelope(envelope, {keyid(public): public})
    if verified.certificate.certificate_id != item.key:
        raise ValueError("the file's name does not match the certificate it holds")
    return IssuedCertificate(Path(str(data.get("certificate"))), verified.certificate, envelope)


def _cited(store: LedgerStore, doc_id: str, certificate_id: str) -> bool:
    return any(
        isinstance(e.event, Destroy) and e.event.certificate_id == certificate_id
        for e in store.document_entries(doc_id)
    )


def _file_paths(issued: IssuedCertificate) -> list[str]:
    return sorted(
        record.subject.raw_path
        for record in issued.certificate.subjects
        if isinstance(record.subject, FileSubject)
    )


def _file_events(
    store: LedgerStore, issued: IssuedCertificate, now: datetime, notes: list[str]
) -> list[Destroy]:
    files = [
        (record.destroyed, record.subject)
        for record in issued.certificate.subjects
        if isinstance(record.subject, FileSubject)
    ]
    gone = {subject.raw_path for destroyed, subject in files if destroyed}
    digests = {subject.raw_path: subject.content_blake3 for _, subject in files}
    registered = locate(store, sorted(digests), now)
    documents, unconfirmed = confirmed_documents(
        registered, {p: d for p, d in digests.items() if p in registered}
    )
    notes.extend(unconfirmed)
    events = []
    for doc_id, paths in sorted(documents.items()):
        if not set(paths) <= gone:
            notes.append(f"{doc_id}: the certificate does not record it destroyed and verified")
        elif not _cited(store, doc_id, issued.certificate.certificate_id):
            events.append(destroy_event(issued, doc_id, paths, (), recorded_later=True))
    return events


def _medium_events(store: LedgerStore, issued: IssuedCertificate, token: str) -> list[Destroy]:
    drives = [r.subject for r in issued.certificate.subjects if isinstance(r.subject, DriveSubject)]
    if issued.outcome != "success" or not any(d.identity_token == token for d in drives):
        return []
    certificate_id = issued.certificate.certificate_id
    return [
        destroy_event(issued, doc_id, (), (token,), recorded_later=True)
        for doc_id in _medium_documents(store, token, utc_now())
        if not _cited(store, doc_id, certificate_id)
    ]


def _deliver_one(
    store: LedgerStore, item: outbox.Queued, issued: IssuedCertificate, actor: str
) -> Delivered:
    notes: list[str] = []
    built: list[Destroy] = []
    already: list[str] = []
    medium = (item.data or {}).get("medium")
    certificate_id = issued.certificate.certificate_id

    def build(head: Head | None) -> Sequence[Event]:
        # Under the append lock: what is recorded now cannot change before the commit.
        built.clear()
        notes.clear()
        if isinstance(medium, str):
            built.extend(_medium_events(store, issued, medium))
            places: tuple[Sequence[str], Sequence[str]] = ((), (medium,))
        else:
            built.extend(_file_events(store, issued, utc_now(), notes))
            places = (_file_paths(issued), ())
        already[:] = [d for d in store.documents_at(*places) if _cited(store, d, certificate_id)]
        return built

    entries = store.append_built(build, actor=actor, now=utc_now())
    outbox.remove(item)
    recorded = tuple(
        RecordedDestroy(e.seq, ev.doc_id, ev.paths, ev.media)
        for e, ev in zip(entries, built, strict=True)
    )
    return Delivered(certificate_id, str(issued.path), recorded, tuple(notes), tuple(already))


def deliver(home: Home, store: LedgerStore, station: Station, *, wait: bool = True) -> Sync:
    """Deliver every record queued for ``store`` (opened as ``station``), oldest key
    first, each in its own transaction, its file removed after the commit. A record for
    another ledger, or one that does not verify, is kept and reported; a ledger that goes
    away stops the delivery (``failure``), and what is left stays queued. Without
    ``wait``, a delivery already running in another process is left to finish the work."""
    delivered: list[Delivered] = []
    kept: list[Kept] = []
    with outbox.delivering(home.outbox, wait=wait) as held:
        if not held:
            return Sync()
        for item in outbox.pending(home.outbox):
            try:
                issued = _certificate(item, station)
            except (ExpungeError, ValueError) as exc:
                why = exc.diagnostics() if isinstance(exc, ExpungeError) else str(exc)
                kept.append(Kept(item.key, f"{item.path}: does not verify ({why})", True))
                continue
            data = item.data or {}
            if data.get("ledger") != store.location:
                where = f"queued for the ledger {data.get('ledger')}, not {store.location}"
                kept.append(Kept(item.key, where, False))
                continue
            try:
                delivered.append(_deliver_one(store, item, issued, str(data.get("actor"))))
            except ExpungeError as exc:
                return Sync(tuple(delivered), tuple(kept), exc)
    return Sync(tuple(delivered), tuple(kept))
