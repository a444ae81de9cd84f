"""Opening the station's ledger for a command, with its policy and the acting person.

The ledger is the shared one named by ``--ledger URL`` / ``EXPUNGE_LEDGER_URL`` /
``[ledger] url`` in ``config.toml`` (PostgreSQL), else the home's SQLite file
(``core.config.ledger_location``). A ledger opened with the ``station`` appends: every
entry names the station and is signed with its key, and after every commit the station's
head record of that ledger moves on (see ``head``). Opened without one, it only reads.

A home without a ledger file (nothing was ever registered here) is the common case of a
one-file ``expunge shred``: the ledger's store, chain and event modules are imported only
once there is a ledger to open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from expunge.core.config import Home, ledger_location
from expunge.core.errors import IntegrityError, LedgerUnreachable, TargetError
from expunge.ledger.postgres.urls import is_url
from expunge.workflows.records.pending import shared

if TYPE_CHECKING:
    from expunge.ledger.classification import ClassificationPolicy
    from expunge.ledger.store import LedgerStore
    from expunge.workflows.certify import Station

DEFERRED_NOTE = (
    "the shared ledger was unreachable when this certificate was issued: it records no "
    "ledger anchor, and its record is queued in the station's outbox until 'expunge "
    "ledger sync' delivers it"
)


@dataclass(frozen=True)
class Deferred:
    """A destruction that goes on while the shared ledger is unreachable (``--record-later``,
    or the recovery of a dead run): nothing is looked up, every file is hashed, the
    method must satisfy every level of ``policy`` (no document's level can be known),
    and the record is queued in the outbox."""

    policy: ClassificationPolicy
    actor: str
    reason: str


def _refuse_lost_ledger(home: Home) -> None:
    """A ledger the station's head record remembers must not be replaced by a new one."""
    from expunge.workflows.records.head import read_head_record

    try:
        record = read_head_record(home.ledger_head_path)
    except IntegrityError:
        record = None
    if record is not None:
        raise IntegrityError(
            f"the ledger is missing, but this station appended entry {record.head.seq} to "
            f"ledger {record.head.ledger_id}",
            target=str(home.ledger_path),
            remedy="restore ledger.db from a backup; to start a new ledger on purpose, move "
            f"{home.ledger_head_path.name} away first",
        )


def _open(home: Home, station: Station | None, *, create: bool) -> LedgerStore:
    from expunge.ledger.store import open_store
    from expunge.workflows.records.head import StationSigner, record_head

    location = ledger_location(home)
    if station is None:
        return open_store(location, create=create)
    return open_store(
        location,
        create=create,
        signer=StationSigner(station),
        on_commit=partial(record_head, station, shared=is_url(location)),
    )


def create_ledger(home: Home, station: Station | None = None) -> LedgerStore:
    """The station's ledger: a shared one as configured, or ``<home>/ledger.db``, created
    when absent; it appends as ``station``. A new file is refused while the station's
    head record remembers one that is gone (a deleted ledger must not be replaced
    silently)."""
    home.ensure()
    if not shared(home) and not home.ledger_path.exists():
        _refuse_lost_ledger(home)
    return _open(home, station, create=True)


def existing_ledger(home: Home, station: Station | None = None) -> LedgerStore | None:
    """The station's ledger, or ``None`` when it uses the home's file and there is none
    (no document was ever registered here; a ledger deleted since is then the audit's to
    find); it appends as ``station``. A shared ledger always exists (or is a target error
    saying how to set it up)."""
    if not shared(home) and not home.ledger_path.exists():
        return None
    return _open(home, station, create=False)


def _policy(home: Home) -> ClassificationPolicy:
    """The home's classification policy (imported here: only a ledger that exists, or
    the deferred record of one, needs it)."""
    from expunge.workflows.records.policy import load_policy

    return load_policy(home)


@dataclass(frozen=True)
class LedgerLink:
    """The ledger as a destruction uses it: where to record, whose policy, who acts."""

    store: LedgerStore
    policy: ClassificationPolicy
    actor: str


@contextmanager
def station_ledger(
    home: Home, actor: str, station: Station | None = None
) -> Iterator[LedgerLink | None]:
    """The home's ledger and policy, for a destruction by ``actor`` recorded by
    ``station``; ``None`` (nothing to record, no document to protect) when no ledger
    exists. Closed on exit."""
    store = existing_ledger(home, station)
    if store is None:
        yield None
        return
    with store:
        yield LedgerLink(store, _policy(home), actor)


def require_ledger(home: Home, station: Station | None = None) -> LedgerStore:
    """The home's ledger, which must exist (commands about registered documents); it
    appends as ``station``."""
    store = existing_ledger(home, station)
    if store is None:
        raise TargetError(
            "there is no ledger here: no document was ever registered",
            target=str(home.ledger_path),
            remedy="register one with 'expunge ledger register PATH', or check --home",
        )
    return store


@contextmanager
def recording_ledger(
    home: Home, actor: str, station: Station, *, record_later: bool
) -> Iterator[LedgerLink | Deferred | None]:
    """``station_ledger``, for a destruction that may go on while the shared ledger is
    unreachable: with ``record_later`` it then yields a ``Deferred`` (records queued in
    the outbox); without, the refusal says how to go on."""
    try:
        store = existing_ledger(home, station)
    except LedgerUnreachable as exc:
        if not record_later:
            raise LedgerUnreachable(
                exc.message + ": it cannot tell whether a target is a registered document; "
                "nothing was written",
                target=exc.target,
                remedy="start PostgreSQL or fix the network, or give --record-later to "
                "destroy now and record when the ledger is back ('expunge ledger sync')",
            ) from None
        yield Deferred(_policy(home), actor, exc.diagnostics())
        return
    if store is None:
        yield None
        return
    with store:
        yield LedgerLink(store, _policy(home), actor)
