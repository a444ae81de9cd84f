"""Opening the station's ledger for a command, with its policy and the acting person."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from expunge.core.config import Home
from expunge.core.errors import TargetError
from expunge.ledger.classification import ClassificationPolicy
from expunge.ledger.store import LedgerStore, SQLiteLedgerStore
from expunge.workflows.records.policy import load_policy


def create_ledger(home: Home) -> SQLiteLedgerStore:
    """The home's ledger (``<home>/ledger.db``), created when absent."""
    home.ensure()
    return SQLiteLedgerStore(home.ledger_path, create=True)


def existing_ledger(home: Home) -> SQLiteLedgerStore | None:
    """The home's ledger, or ``None`` when no document was ever registered here."""
    if not home.ledger_path.exists():
        return None
    return SQLiteLedgerStore(home.ledger_path, create=False)


@dataclass(frozen=True)
class LedgerLink:
    """The ledger as a destruction uses it: where to record, whose policy, who acts."""

    store: LedgerStore
    policy: ClassificationPolicy
    actor: str


@contextmanager
def station_ledger(home: Home, actor: str) -> Iterator[LedgerLink | None]:
    """The home's ledger and policy, for a destruction by ``actor``; ``None`` (nothing to
    record, no document to protect) when no ledger exists. Closed on exit."""
    store = existing_ledger(home)
    if store is None:
        yield None
        return
    with store:
        yield LedgerLink(store, load_policy(home), actor)


def require_ledger(home: Home) -> SQLiteLedgerStore:
    """The home's ledger, which must exist (commands about registered documents)."""
    store = existing_ledger(home)
    if store is None:
        raise TargetError(
            "there is no ledger here: no document was ever registered",
            target=str(home.ledger_path),
            remedy="register one with 'expunge ledger register PATH', or check --home",
        )
    return store
