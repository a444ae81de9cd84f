"""Fixtures of the PostgreSQL tests (registered in tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.postgres import ENV, fresh_database, own_cluster


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A superuser URL of a running PostgreSQL: ``EXPUNGE_TEST_PG_URL``, or a cluster of
    our own for the session; the tests skip when neither is possible."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    given = os.environ.get(ENV)
    if given:
        yield given
        return
    with own_cluster() as cluster:
        yield cluster.url


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[str]:
    """A fresh, empty database for one test: its admin URL."""
    with fresh_database(pg_server) as url:
        yield url


@pytest.fixture
def pg_ledger(pg_database: str) -> str:
    """A fresh database set up as a shared ledger (``setup``): its admin URL."""
    from expunge.ledger.postgres.setup import setup

    setup(pg_database)
    return pg_database
