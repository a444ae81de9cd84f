"""Fixtures of the ledger tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from expunge.ledger.keystore import SQLiteKeyStore
from expunge.ledger.store import SQLiteLedgerStore
from tests.support.ledger import STATION


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    """Where the test's ledger lives (``<home>/ledger.db``)."""
    return tmp_path / "ledger.db"


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test's ledger, once per store: an SQLite file, and a fresh PostgreSQL database
    set up as a shared ledger."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    return str(request.getfixturevalue("pg_ledger"))


@pytest.fixture
def store(ledger_path: Path) -> Iterator[SQLiteLedgerStore]:
    """A fresh SQLite ledger appending as the test station, closed after the test."""
    with SQLiteLedgerStore(ledger_path, signer=STATION) as opened:
        yield opened


@pytest.fixture
def keystore(tmp_path: Path) -> Iterator[SQLiteKeyStore]:
    """A fresh key store, closed after the test."""
    with SQLiteKeyStore(tmp_path / "keystore.db") as opened:
        yield opened
