"""Document state, derived from the events every time and never stored, so it cannot drift.

A document has *locations* (see ``locations``): the original file, the sealed file once it
is sealed, and every recorded copy (at a path, or on a medium). A ``destroy`` event destroys
the outstanding locations it covers: those at its paths, those on its media, and, when it
erased the document key, every ciphertext location at once. Only locations recorded before
the event are covered; a copy made later is a new location. A ``write-off`` closes one
outstanding copy that nobody can bring back (lost, or destroyed physically), without a
certificate.

The document itself is destroyed when its *primary* location is: the sealed file once
sealed, else the original. Copies can outlive it (a stick nobody has brought back); they stay
outstanding, and an audit lists them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from expunge.core.errors import RefusedError, TargetError, UsageError
from expunge.ledger.entries import Entry
from expunge.ledger.events import (
    Checkpoint,
    Copy,
    Destroy,
    DocumentEvent,
    Register,
    Seal,
    Transfer,
    WriteOff,
    document_fields,
    format_time,
)
from expunge.ledger.locations import Destruction, Location, SealState, WrittenOff

DocumentStatus = Literal["registered", "sealed", "destroyed"]


def _host(entry: Entry) -> str | None:
    """The host whose paths an entry names (``None``: a v1 entry, from one station)."""
    return entry.station.host if entry.station is not None else None


@dataclass(frozen=True, slots=True)
class DocumentState:
    """Everything the ledger says about one document, as of ``as_of``."""

    doc_id: str
    title: str
    classification: str
    custodian: str
    path: str
    size: int
    digest: str
    retain_until: datetime | None
    registered_seq: int
    registered_at: datetime
    registered_sealed: bool
    seal: SealState | None
    key_erased_by: Destruction | None
    locations: tuple[Location, ...]
    destructions: tuple[Destruction, ...]
    history: tuple[int, ...]
    as_of: datetime

    @property
    def primary(self) -> Location:
        """The location whose destruction destroys the document: sealed file, else original."""
        sealed = [loc for loc in self.locations if loc.kind == "sealed"]
        return sealed[-1] if sealed else self.locations[0]

    @property
    def destroyed_by(self) -> Destruction | None:
        """The destruction of the primary location, if any."""
        return self.primary.destroyed_by

    @property
    def destroyed(self) -> bool:
        """True once the primary location is destroyed."""
        return self.destroyed_by is not None

    @property
    def status(self) -> DocumentStatus:
        """``destroyed``, else ``sealed``, else ``registered``."""
        if self.destroyed:
            return "destroyed"
        return "sealed" if self.seal else "registered"

    @property
    def copies(self) -> tuple[Location, ...]:
        """Recorded copies, outstanding or destroyed."""
        return tuple(loc for loc in self.locations if loc.kind == "copy")

    @property
    def outstanding(self) -> tuple[Location, ...]:
        """Locations other than the primary that nothing has destroyed yet: copies, and
        the plaintext original of a document sealed later."""
        primary = self.primary
        return tuple(loc for loc in self.locations if loc.outstanding and loc is not primary)

    @property
    def written_off(self) -> tuple[Location, ...]:
        """Copies closed by a write-off."""
        return tuple(loc for loc in self.locations if loc.written_off is not None)

    @property
    def overdue(self) -> bool:
        """Past its retention date and not destroyed."""
        return (
            self.retain_until is not None and self.retain_until < self.as_of and not self.destroyed
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form, for ``ledger list --json`` and ``ledger show``."""
        return {
            **document_fields(self),
            "registered_seq": self.registered_seq,
            "registered_at": format_time(self.registered_at),
            "registered_sealed": self.registered_sealed,
            "status": self.status,
            "overdue": self.overdue,
            "seal": self.seal.to_dict() if self.seal else None,
            "key_erased_by": self.key_erased_by.to_dict() if self.key_erased_by else None,
            "destroyed_by": self.destroyed_by.to_dict() if self.destroyed_by else None,
            "locations": [loc.to_dict() for loc in self.locations],
            "outstanding": [loc.describe() for loc in self.outstanding],
            "written_off": [loc.describe() for loc in self.written_off],
            "history": list(self.history),
        }


class _Fold:
    """One document's state while its events are replayed (mutable, private)."""

    __slots__ = (
        "custodian",
        "destructions",
        "history",
        "key_erased_by",
        "locations",
        "register",
        "registered_seq",
        "registered_time",
        "seal",
    )

    def __init__(self, entry: Entry, event: Register) -> None:
        self.register = event
        # Not the entry: a fold of a million entries keeps what it needs of each.
        self.registered_seq = entry.seq
        self.registered_time = entry.time
        self.custodian = event.custodian
        self.seal: SealState | None = None
        self.key_erased_by: Destruction | None = None
        self.locations = [
            Location("original", entry.seq, event.path, None, event.sealed, host=_host(entry))
        ]
        self.destructions: list[Destruction] = []
        self.history = [entry.seq]

    @property
    def doc_id(self) -> str:
        return self.register.doc_id

    @property
    def sealed_now(self) -> bool:
        return self.register.sealed or self.seal is not None

    def primary(self) -> Location:
        sealed = [loc for loc in self.locations if loc.kind == "sealed"]
        return sealed[-1] if sealed else self.locations[0]

    def destroyed_by(self) -> Destruction | None:
        return self.primary().destroyed_by

    def check(self, event: DocumentEvent) -> None:
        """Raise if ``event`` may not follow this document's history."""
        doc = self.doc_id
        if isinstance(event, Register):
            raise UsageError(
                f"document id {doc} is already registered (seq {self.registered_seq})",
                target=doc,
                remedy="choose another --id, or omit it to have one generated",
            )
        destroyed = self.destroyed_by()
        if destroyed and isinstance(event, Copy | Transfer | Seal):
            raise RefusedError(
                f"the document was destroyed at seq {destroyed.seq} "
                f"(certificate {destroyed.certificate_id})",
                target=doc,
                remedy="a destroyed document cannot be copied, transferred or sealed",
            )
        if isinstance(event, Seal) and self.seal:
            raise RefusedError(
                f"the document is already sealed (seq {self.seal.seq})", target=doc, remedy=""
            )
        if isinstance(event, Destroy):
            self._check_destroy(event)
        if isinstance(event, WriteOff):
            self._check_write_off(event)

    def _check_write_off(self, event: WriteOff) -> None:
        doc = self.doc_id
        found = [loc for loc in self.locations if loc.kind == "copy" and loc.seq == event.copy_seq]
        if not found:
            raise RefusedError(
                f"seq {event.copy_seq} did not record a copy of the document",
                target=doc,
                remedy="name a copy by the seq 'expunge ledger show' lists for it",
            )
        loc = found[0]
        if loc.destroyed_by is not None:
            raise RefusedError(
                f"its copy at {loc.describe()} (seq {loc.seq}) was destroyed at seq "
                f"{loc.destroyed_by.seq}: there is nothing to write off",
                target=doc,
                remedy="",
            )
        if loc.written_off is not None:
            raise RefusedError(
                f"its copy at {loc.describe()} (seq {loc.seq}) was already written off at seq "
                f"{loc.written_off.seq}",
                target=doc,
                remedy="",
            )

    def _check_destroy(self, event: Destroy) -> None:
        doc = self.doc_id
        if event.key_erased and self.seal is None:
            raise RefusedError(
                "the document is not sealed: it has no key to erase", target=doc, remedy=""
            )
        if event.key_erased and self.key_erased_by:
            raise RefusedError(
                f"the document key was already erased at seq {self.key_erased_by.seq}",
                target=doc,
                remedy="",
            )
        live = [loc for loc in self.locations if loc.outstanding]
        for path in event.paths:
            if not any(loc.path == path for loc in live):
                raise RefusedError(
                    f"no outstanding location at {path}",
                    target=doc,
                    remedy="see 'expunge ledger show' for the document's locations",
                )
        for medium in event.media:
            if not any(loc.medium == medium for loc in live):
                raise RefusedError(
                    f"no outstanding copy on medium {medium}",
                    target=doc,
                    remedy="see 'expunge ledger show' for the document's locations",
                )

    def apply(self, entry: Entry, event: DocumentEvent) -> None:
        self.history.append(entry.seq)
        if isinstance(event, Copy):
            self.locations.append(
                Location(
                    "copy",
                    entry.seq,
                    event.to_path,
                    event.to_medium,
                    self.sealed_now and not event.plaintext,
                    host=_host(entry),
                )
            )
        elif isinstance(event, Transfer):
            self.custodian = event.custodian
        elif isinstance(event, Seal):
            self._apply_seal(entry, event)
        elif isinstance(event, Destroy):
            self._apply_destroy(entry, event)
        elif isinstance(event, WriteOff):
            closed = WrittenOff(entry.seq, entry.time, event.reason, event.witness)
            for index, loc in enumerate(self.locations):
                if loc.kind == "copy" and loc.seq == event.copy_seq:
                    self.locations[index] = loc.closed(written_off=closed)

    def _apply_seal(self, entry: Entry, event: Seal) -> None:
        in_place = self.register.sealed and event.sealed_path == self.register.path
        self.seal = SealState(entry.seq, event.sealed_path, event.key_id, self.register.sealed)
        if not in_place:
            self.locations.append(
                Location("sealed", entry.seq, event.sealed_path, None, True, host=_host(entry))
            )

    def _apply_destroy(self, entry: Entry, event: Destroy) -> None:
        done = Destruction(
            entry.seq,
            entry.time,
            event.method,
            event.certificate_id,
            event.certificate_digest,
            event.key_erased,
        )
        self.destructions.append(done)
        if event.key_erased:
            self.key_erased_by = done
        paths, media = set(event.paths), set(event.media)
        for index, loc in enumerate(self.locations):
            covered = (
                (loc.path is not None and loc.path in paths)
                or (loc.medium is not None and loc.medium in media)
                or (event.key_erased and loc.ciphertext)
            )
            if loc.outstanding and covered:
                self.locations[index] = loc.closed(destroyed_by=done)

    def freeze(self, now: datetime) -> DocumentState:
        reg = self.register
        return DocumentState(
            doc_id=reg.doc_id,
            title=reg.title,
            classification=reg.classification,
            custodian=self.custodian,
            path=reg.path,
            size=reg.size,
            digest=reg.digest,
            retain_until=reg.retain_until,
            registered_seq=self.registered_seq,
            registered_at=self.registered_time,
            registered_sealed=reg.sealed,
            seal=self.seal,
            key_erased_by=self.key_erased_by,
            locations=tuple(self.locations),
            destructions=tuple(self.destructions),
            history=tuple(self.history),
            as_of=now,
        )


@dataclass(frozen=True)
class StateProblem:
    """An event that should not have followed its document's history."""

    seq: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"seq": self.seq, "message": self.message}


class DocumentFolds:
    """The documents' states, folded one entry at a time (``feed``): what ``all_documents``
    and ``consistency_problems`` compute, for a stream that is never held whole."""

    def __init__(self, problems: list[StateProblem] | None = None) -> None:
        self.folds: dict[str, _Fold] = {}
        self.problems = problems

    def feed(self, entry: Entry) -> None:
        """Apply one entry (in seq order); an event its document's history refuses is left
        out, and listed in ``problems`` when they are kept."""
        event = entry.event
        if isinstance(event, Checkpoint):
            return
        folds = self.folds
        try:
            _check(folds.get(event.doc_id), event)
        except (UsageError, RefusedError, TargetError) as exc:
            if self.problems is not None:
                self.problems.append(StateProblem(entry.seq, exc.diagnostics()))
            return
        # _check let through only a first Register, or a later event of a known document.
        if isinstance(event, Register):
            folds[event.doc_id] = _Fold(entry, event)
        else:
            folds[event.doc_id].apply(entry, event)

    def view(self, doc_id: str) -> _Fold | None:
        """The document's state so far (not frozen: it changes as entries are fed)."""
        return self.folds.get(doc_id)

    def freeze(self, now: datetime) -> Iterator[DocumentState]:
        """Every document's state as of ``now``, in order of registration; each fold is
        dropped as it is frozen, so that the two forms are never held whole at once."""
        folds = self.folds
        # The ids taken first: after pops from its front, a dict's first key is found by
        # skipping every slot freed before it, which made this loop quadratic (17 s of a
        # million-entry audit).
        for doc_id in list(folds):
            yield folds.pop(doc_id).freeze(now)


def _fold(entries: Iterable[Entry], problems: list[StateProblem] | None = None) -> dict[str, _Fold]:
    folds = DocumentFolds(problems)
    for entry in entries:
        folds.feed(entry)
    return folds.folds


def _check(fold: _Fold | None, event: DocumentEvent) -> None:
    if fold is not None:
        fold.check(event)
    elif not isinstance(event, Register):
        raise TargetError(
            "no such document in the ledger",
            target=event.doc_id,
            remedy="see 'expunge ledger list' for registered documents",
        )


def check_event(history: Iterable[Entry], event: DocumentEvent) -> None:
    """Raise the error a person should see if ``event`` may not be appended after
    ``history`` (the ledger's entries, or only those of ``event``'s document).

    Refused: registering an id twice; any other event for an unknown document; copying,
    transferring or sealing a destroyed document; sealing twice; destroying a location that
    is not outstanding; erasing a key that does not exist.
    """
    _check(_fold(history).get(event.doc_id), event)


def consistency_problems(entries: Iterable[Entry]) -> tuple[StateProblem, ...]:
    """Every entry that ``check_event`` would have refused, with its seq (for audit)."""
    problems: list[StateProblem] = []
    _fold(entries, problems)
    return tuple(problems)


def document_state(entries: Iterable[Entry], doc_id: str, now: datetime) -> DocumentState | None:
    """The state of ``doc_id`` as of ``now``; ``None`` when it was never registered."""
    fold = _fold(e for e in entries if e.event.doc_id == doc_id).get(doc_id)
    return fold.freeze(now) if fold else None


def all_documents(entries: Iterable[Entry], now: datetime) -> tuple[DocumentState, ...]:
    """Every registered document, in order of registration."""
    return tuple(fold.freeze(now) for fold in _fold(entries).values())
