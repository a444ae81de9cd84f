"""Appending to a ledger, the same way in every store: each event checked against its
document's history, linked to the head, the transaction signed once by the station
(``link_events``), ids generated under the write lock, checkpoints of the head read under
it (``AppendingStore``); and which paths and media an event names (``event_places``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from expunge.core.errors import UsageError
from expunge.ledger.chain import CheckpointSigner, checkpoint_message, next_entry
from expunge.ledger.entries import Entry, Head, Record, StationRef
from expunge.ledger.events import Checkpoint, Copy, Destroy, Event, Register, Seal, utc_second
from expunge.ledger.ids import generated_id, generated_prefix, next_document_id
from expunge.ledger.signing import EntrySigner
from expunge.ledger.state import check_event


def event_places(event: Event) -> tuple[str, ...]:
    """The paths and media an event names: where a location opens or closes."""
    if isinstance(event, Register):
        return (event.path,)
    if isinstance(event, Copy):
        return tuple(p for p in (event.to_path, event.to_medium) if p is not None)
    if isinstance(event, Seal):
        return (event.sealed_path,)
    if isinstance(event, Destroy):
        return (*event.paths, *event.media)
    return ()


def below(path: str) -> str:
    """What every path strictly below the folder ``path`` starts with."""
    return path if path.endswith("/") else path + "/"


def is_at(place: str, paths: Sequence[str], media: Sequence[str]) -> bool:
    """Whether ``place`` is one of ``paths`` or ``media``, or below one of ``paths``."""
    return place in media or any(place == p or place.startswith(below(p)) for p in paths)


def refuse_misplaced_checkpoint(head: Head | None, event: Event, location: str) -> None:
    """A checkpoint must sign the head read under the write lock."""
    if isinstance(event, Checkpoint) and (
        head is None or (event.seq, event.head_hash) != (head.seq, head.hash.hex())
    ):
        raise UsageError(
            "a checkpoint must sign the current head of the ledger",
            target=location,
            remedy="use checkpoint() so the head is read under the write lock",
        )


def link_events(
    ledger_id: str,
    head: Head | None,
    events: Sequence[Event | Record],
    *,
    signer: EntrySigner,
    actor: str,
    now: datetime,
    history: Callable[[str], Sequence[Entry]],
    location: str,
) -> list[Entry]:
    """The entries that append ``events`` after ``head``, each checked against its
    document's ``history`` (and the events before it in the same transaction), the last
    one signed for all of them. A ``Record`` given instead of an event keeps its time,
    actor and origin (a migrated entry); the station is always the signer's. Run under the
    store's write lock."""
    appended: list[Entry] = []
    earlier: dict[str | None, list[Entry]] = {}
    for index, item in enumerate(events):
        draft = item if isinstance(item, Record) else Record(now, actor, item)
        event = draft.event
        if isinstance(event, Checkpoint):
            refuse_misplaced_checkpoint(head, event, location)
        else:
            check_event([*history(event.doc_id), *earlier.get(event.doc_id, ())], event)
        record = Record(draft.time, draft.actor, event, signer.station, origin=draft.origin)
        entry = next_entry(
            ledger_id,
            head,
            record,
            signer=signer if index == len(events) - 1 else None,
            from_seq=appended[0].seq if appended else None,
        )
        appended.append(entry)
        earlier.setdefault(event.doc_id, []).append(entry)
        head = entry.head
    return appended


def require_signer(signer: EntrySigner | None, location: str) -> EntrySigner:
    """The store's signer; a usage error for a store opened to read only."""
    if signer is None:
        raise UsageError(
            "the ledger was opened without a station key: it cannot append",
            target=location,
            remedy="open it with the station's signer (entries are signed, format v2)",
        )
    return signer


def checkpoint_event(
    ledger_id: str, head: Head | None, signer: CheckpointSigner, location: str
) -> Checkpoint:
    """The checkpoint signing ``head`` (read under the write lock)."""
    if head is None:
        raise UsageError(
            "the ledger is empty: there is nothing to checkpoint",
            target=location,
            remedy="register a document first",
        )
    keyid, signature = signer(checkpoint_message(ledger_id, head.seq, head.hash))
    return Checkpoint(head.seq, head.hash.hex(), keyid, signature.hex())


def registrations(
    makes: Sequence[Callable[[str], Register]], taken: Iterable[str], year: int
) -> list[Event | Record]:
    """The events ``makes`` build for the consecutive ids after the ``taken`` generated
    ids of ``year``."""
    prefix = generated_prefix(year)
    number = int(next_document_id(taken, year)[len(prefix) :])
    events: list[Event | Record] = []
    for offset, make in enumerate(makes):
        doc_id = generated_id(year, number + offset)
        event = make(doc_id)
        if event.doc_id != doc_id:
            raise ValueError(f"make() must register the id it is given ({doc_id})")
        events.append(event)
    return events


class AppendingStore:
    """What both stores do the same way over their own ``_transaction`` (one write
    transaction under the ledger's lock: ``build`` gives the events to append after the
    head it is handed) and ``_taken_ids`` (the ids between two bounds, read under it)."""

    _ledger_id: str
    _entry_signer: EntrySigner | None

    @property
    def location(self) -> str:
        """Where the store is, for messages."""
        raise NotImplementedError

    @property
    def station(self) -> StationRef | None:
        """The station the store appends as (``None``: opened to read only)."""
        return None if self._entry_signer is None else self._entry_signer.station

    def _transaction(
        self, build: Callable[[Head | None], Sequence[Event | Record]], actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        raise NotImplementedError

    def _taken_ids(self, low: str, high: str) -> Iterable[str]:
        raise NotImplementedError

    def append_built(
        self, build: Callable[[Head | None], Sequence[Event | Record]], *, actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """Append, in one transaction under the write lock, the events ``build`` returns
        for the head it is handed: ``build`` may read the store (through this store, in
        the same transaction) to decide, so that what it saw cannot change before the
        commit (delivery from the outbox checks there what is already recorded)."""
        return self._transaction(build, actor, now)

    def append(self, event: Event, *, actor: str, now: datetime) -> Entry:
        """Check ``event`` against its document's history, link it to the head, sign it,
        commit. Returns only after the commit, so a returned entry is durable."""
        return self.append_many((event,), actor=actor, now=now)[0]

    def append_many(
        self, events: Sequence[Event | Record], *, actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """Append several events in one transaction, signed once: all of them or none
        (a ``Record`` keeps its time, actor and origin: see ``link_events``)."""
        return self._transaction(lambda head: events, actor, now)

    def register_new(self, make: Callable[[str], Register], *, actor: str, now: datetime) -> Entry:
        """Register a document under the next ``DOC-<year>-<n>`` id of ``now``'s year,
        chosen under the write lock: concurrent registrations, from any station sharing
        the ledger, never collide."""
        return self.register_many((make,), actor=actor, now=now)[0]

    def register_many(
        self, makes: Sequence[Callable[[str], Register]], *, actor: str, now: datetime
    ) -> tuple[Entry, ...]:
        """Register one document per ``make`` in one transaction, signed once, under the
        next consecutive ``DOC-<year>-<n>`` ids of ``now``'s year (chosen under the write
        lock): all of them or none."""
        year = utc_second(now).year
        prefix = generated_prefix(year)

        def build(head: Head | None) -> list[Event | Record]:
            taken = self._taken_ids(prefix, prefix[:-1] + ".")  # '.' sorts right after '-'
            return registrations(makes, taken, year)

        return self._transaction(build, actor, now)

    def checkpoint(self, signer: CheckpointSigner, *, actor: str, now: datetime) -> Entry:
        """Append a checkpoint: ``signer`` signs ``(ledger id, head seq, head hash)``."""

        def build(head: Head | None) -> list[Event | Record]:
            return [checkpoint_event(self._ledger_id, head, signer, self.location)]

        return self._transaction(build, actor, now)[0]
