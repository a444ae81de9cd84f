"""``setup``: the shared ledger's schema, roles and protections, made by an administrator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from expunge.core.errors import TargetError
from expunge.ledger.postgres.connection import connect, translating
from expunge.ledger.postgres.schema import (
    AUDITOR_ROLE,
    FORMAT,
    SCHEMA,
    STATION_ROLE,
    VERSION,
    setup_statements,
)
from expunge.ledger.postgres.urls import display_url


@dataclass(frozen=True)
class SetupResult:
    """What ``setup`` left in place."""

    url: str
    ledger_id: str
    created: bool
    station_role: str = STATION_ROLE
    auditor_role: str = AUDITOR_ROLE

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "url": self.url,
            "ledger_id": self.ledger_id,
            "created": self.created,
            "station_role": self.station_role,
            "auditor_role": self.auditor_role,
        }


def setup(admin_url: str) -> SetupResult:
    """Create (or bring up to date) the ledger schema, the append function, the triggers
    and the two roles in the database at ``admin_url``, in one transaction. A database
    that already holds a ledger keeps it and its id (``created`` is then false)."""
    where = display_url(admin_url)
    with connect(admin_url) as conn, translating(where, "set up the ledger"):
        encoding = conn.execute("SHOW server_encoding").fetchone()
        if not encoding or encoding[0] != "UTF8":
            raise TargetError(
                f"the database's encoding is {encoding[0] if encoding else '?'}, not UTF8",
                target=where,
                remedy="create the database with ENCODING 'UTF8' (records are UTF-8 text)",
            )
        with conn.transaction():
            for statement in setup_statements():
                conn.execute(statement)
            ledger_id = str(uuid.uuid4())
            inserted = conn.execute(
                f"INSERT INTO {SCHEMA}.meta (key, value) VALUES"
                " ('format', %s), ('schema_version', %s), ('ledger_id', %s)"
                " ON CONFLICT (key) DO NOTHING RETURNING key",
                (FORMAT, str(VERSION), ledger_id),
            ).fetchall()
            row = conn.execute(
                f"SELECT value FROM {SCHEMA}.meta WHERE key = 'ledger_id'"
            ).fetchone()
    return SetupResult(where, str(row[0]) if row else ledger_id, bool(inserted))
