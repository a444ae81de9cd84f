"""``expunge ledger setup-postgres``: the shared fleet ledger's schema and roles."""

from __future__ import annotations

import click

from expunge.commands.options import json_option
from expunge.commands.render import emit_json
from expunge.core.errors import UsageError
from expunge.ledger.postgres.urls import display_url, is_url, require_driver


@click.command("setup-postgres")
@click.argument("admin_url", metavar="ADMIN_URL", envvar="EXPUNGE_LEDGER_ADMIN_URL")
@json_option
def setup_postgres(admin_url: str, as_json: bool) -> None:
    """Create the shared ledger in the PostgreSQL database at ADMIN_URL (a role that may
    create schemas and roles there): its tables, the append function, the triggers that
    keep entries append-only, and the NOLOGIN roles expunge_station (append and read) and
    expunge_auditor (read). Run again, it keeps the ledger and its id.

    Then grant the roles to login roles, e.g. GRANT expunge_station TO station1, and
    point stations at it with --ledger URL, EXPUNGE_LEDGER_URL or [ledger] url.
    """
    if not is_url(admin_url):
        raise UsageError(
            "not a PostgreSQL URL",
            target=display_url(admin_url),
            remedy="give postgresql://USER@HOST[:PORT]/DATABASE",
        )
    require_driver(admin_url)
    from expunge.ledger.postgres.setup import setup

    result = setup(admin_url)
    if as_json:
        emit_json(result.to_dict())
        return
    done = "created" if result.created else "already set up; schema, roles and grants renewed"
    click.echo(f"ledger {result.ledger_id} at {result.url}: {done}")
    click.echo(
        f"roles: {result.station_role} (append, read), {result.auditor_role} (read); grant "
        "them to login roles: GRANT expunge_station TO <login role>"
    )
