"""Opening the home's key store for a command: migrated first, if an old one is found."""

from __future__ import annotations

from pathlib import Path

from expunge.core.clock import utc_now
from expunge.core.config import Home
from expunge.ledger.keystore import KeyStore
from expunge.workflows.cryptoerase.migrate import migrate_legacy, migration_pending


def keystore_folder(home: Home) -> Path:
    """``<home>/keystore``: the slot file and its index."""
    return home.root / "keystore"


def open_keystore(home: Home, *, create: bool) -> KeyStore:
    """The home's key store, created when ``create`` allows (or an old store needs it).

    An earlier version's ``keystore.db`` is migrated (and destroyed) before anything else
    uses the store; without ``create`` and with no store at all, a ``TargetError`` says
    that nothing was ever sealed with this home.
    """
    pending = migration_pending(home)
    if create or pending:
        home.ensure()
    store = KeyStore(keystore_folder(home), create=create or pending)
    try:
        if pending:
            migrate_legacy(home, store, now=utc_now())
    except BaseException:
        store.close()
        raise
    return store
