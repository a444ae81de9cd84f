"""Connecting to the shared ledger: URLs shown without secrets, PostgreSQL's errors as
expunge's (one line, the ledger named, a remedy)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg

from expunge.core.errors import (
    BusyError,
    ExpungeError,
    IntegrityError,
    LedgerUnreachable,
    RefusedError,
    TargetError,
)
from expunge.ledger.postgres.schema import APPEND_ONLY, NOT_THE_HEAD, STATION_ROLE
from expunge.ledger.postgres.urls import display_url

_SETUP = "create it with 'expunge ledger setup-postgres ADMIN_URL', or check --ledger"


def connect(url: str, *, connect_timeout: int = 10) -> psycopg.Connection[tuple[Any, ...]]:
    """An autocommit connection (transactions are explicit), UTF-8 on the wire."""
    with translating(display_url(url), "connect to the ledger"):
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=connect_timeout,
            client_encoding="UTF8",
            application_name="expunge",
        )


@contextmanager
def translating(where: str, doing: str) -> Iterator[None]:
    """PostgreSQL's exceptions as expunge's, naming ``where`` (a URL without password)."""
    try:
        yield
    except ExpungeError:
        raise
    except pg.InsufficientPrivilege as exc:
        raise RefusedError(
            f"cannot {doing}: permission denied ({_first_line(exc)})",
            target=where,
            remedy=f"grant {STATION_ROLE} (stations) or expunge_auditor (auditors) to the "
            "login role",
        ) from None
    except (pg.UndefinedTable, pg.InvalidSchemaName, pg.UndefinedFunction) as exc:
        raise TargetError(
            f"cannot {doing}: no expunge ledger in this database ({_first_line(exc)})",
            target=where,
            remedy=_SETUP,
        ) from None
    except (pg.LockNotAvailable, pg.QueryCanceled) as exc:
        raise BusyError(
            f"cannot {doing}: another station holds the ledger's lock ({_first_line(exc)})",
            target=where,
            remedy="try again when it has finished",
        ) from None
    except psycopg.Error as exc:
        if exc.sqlstate in (NOT_THE_HEAD, APPEND_ONLY):
            raise IntegrityError(
                f"cannot {doing}: the ledger refused it ({_first_line(exc)})",
                target=where,
                remedy="audit the ledger ('expunge audit --ledger URL')",
            ) from None
        if isinstance(exc, psycopg.OperationalError):
            raise LedgerUnreachable(
                f"cannot {doing}: the ledger is unreachable ({_first_line(exc)})",
                target=where,
                remedy="check that PostgreSQL runs and the URL",
            ) from None
        raise TargetError(f"cannot {doing}: {_first_line(exc)}", target=where) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
