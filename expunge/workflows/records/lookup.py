"""Finding what a destruction touches: documents by id, outstanding locations by path."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from expunge.core import paths
from expunge.core.errors import TargetError
from expunge.shred.files import target_error

if TYPE_CHECKING:
    from expunge.ledger.locations import Location
    from expunge.ledger.state import DocumentState
    from expunge.ledger.store import LedgerStore


def document(store: LedgerStore, doc_id: str, now: datetime) -> DocumentState:
    """The state of ``doc_id``; a target error naming it when it is not registered."""
    from expunge.ledger.state import document_state  # only a ledger being read needs it

    # An id holding raw bytes (a command-line argument that is not UTF-8) was never
    # registered (ids are text) and cannot even be asked of the store.
    state = (
        None
        if paths.is_raw(doc_id)
        else document_state(store.document_entries(doc_id), doc_id, now)
    )
    if state is None:
        raise TargetError(
            "no such document in the ledger",
            target=paths.readable(doc_id),
            remedy="see 'expunge ledger list' for registered documents",
        )
    return state


@dataclass(frozen=True)
class RegisteredLocation:
    """An outstanding location of a document at a path about to be destroyed.

    ``expected_digest`` is the content the ledger recorded for it; ``None`` for ciphertext
    (a sealed file), which the ledger has no digest of and which matches by path alone.
    """

    path: str
    doc_id: str
    classification: str
    seq: int
    kind: str
    expected_digest: str | None

    def confirmed_by(self, digest: str | None) -> bool:
        """Whether content with ``digest`` is this document (read before wiping)."""
        return self.expected_digest is None or digest == self.expected_digest

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "path": self.path,
            "doc_id": self.doc_id,
            "classification": self.classification,
            "seq": self.seq,
            "kind": self.kind,
        }


def here(store: LedgerStore) -> str | None:
    """The host whose paths a destruction through ``store`` may touch: its station's
    (a shared ledger holds every station's paths); ``None`` for a store that only reads."""
    station = store.station
    return None if station is None else station.host


def _under(path: str, targets: frozenset[str]) -> bool:
    if path in targets:
        return True
    parent = os.path.dirname(path)
    while parent and parent != path:
        if parent in targets:
            return True
        path, parent = parent, os.path.dirname(parent)
    return False


def locate(
    store: LedgerStore, targets: Sequence[str], now: datetime
) -> dict[str, tuple[RegisteredLocation, ...]]:
    """Outstanding document locations at ``targets`` or below them (absolute paths of
    files or folders) on this station's host (see ``here``), by path."""
    wanted = frozenset(targets)
    host = here(store)
    found: dict[str, list[RegisteredLocation]] = {}
    # The store's index of places names the candidates (one lookup per target, not a
    # scan of the ledger); their state, derived from their own entries, decides.
    for doc_id in sorted(store.documents_at(sorted(wanted), ())):
        state = document(store, doc_id, now)
        for loc in state.locations:
            if (
                loc.outstanding
                and loc.path is not None
                and loc.here(host)
                and _under(loc.path, wanted)
            ):
                found.setdefault(loc.path, []).append(_registered(state, loc))
    return {path: tuple(locs) for path, locs in found.items()}


def _registered(state: DocumentState, loc: Location) -> RegisteredLocation:
    assert loc.path is not None
    return RegisteredLocation(
        loc.path,
        state.doc_id,
        state.classification,
        loc.seq,
        loc.kind,
        None if loc.ciphertext else state.digest,
    )


def _medium_documents(store: LedgerStore, token: str, now: datetime) -> list[str]:
    found = []
    for doc_id in sorted(store.documents_at((), (token,))):
        state = document(store, doc_id, now)
        if any(loc.outstanding and loc.medium == token for loc in state.locations):
            found.append(doc_id)
    return found


@dataclass(frozen=True)
class DocumentPlan:
    """What ``expunge destroy DOC`` can reach: existing files at outstanding locations,
    and the outstanding locations it cannot (media, paths that no longer exist)."""

    state: DocumentState
    reachable: tuple[RegisteredLocation, ...]
    unreachable: tuple[Location, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "doc_id": self.state.doc_id,
            "reachable": [loc.to_dict() for loc in self.reachable],
            "unreachable": [loc.to_dict() for loc in self.unreachable],
        }


def plan_document(state: DocumentState, host: str | None = None) -> DocumentPlan:
    """Split ``state``'s outstanding locations into those present now and the others.
    With ``host`` (see ``here``), paths recorded by another host's station are out of
    reach: the same path here is another file."""
    reachable: list[RegisteredLocation] = []
    unreachable: list[Location] = []
    for loc in state.locations:
        if not loc.outstanding:
            continue
        if loc.path is not None and loc.here(host) and _present(loc.path):
            reachable.append(_registered(state, loc))
        else:
            unreachable.append(loc)
    return DocumentPlan(state, tuple(reachable), tuple(unreachable))


def _present(path: str) -> bool:
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise target_error(exc, path) from None
    return True
