"""``expunge ledger setup-postgres`` (the shared fleet ledger's schema and roles) and
``expunge ledger migrate`` (a station's own ledger copied into it)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from expunge.commands.frame import key_notice, open_station
from expunge.commands.json_output import emit_json
from expunge.commands.options import home_option, json_option
from expunge.core.config import Home
from expunge.core.errors import TargetError, UsageError
from expunge.ledger.postgres.urls import display_url, is_url, require_driver
from expunge.ledger.store import open_store
from expunge.workflows import records
from expunge.workflows.records.migrate import migrate


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
    _require_url(admin_url)
    from expunge.ledger.postgres.setup import setup

    result = setup(admin_url)
    if as_json:
        emit_json("ledger-setup-postgres", result.to_dict())
        return
    done = "created" if result.created else "already set up; schema, roles and grants renewed"
    click.echo(f"ledger {result.ledger_id} at {result.url}: {done}")
    click.echo(
        f"roles: {result.station_role} (append, read), {result.auditor_role} (read); grant "
        "them to login roles: GRANT expunge_station TO <login role>"
    )


def _require_url(url: str) -> None:
    if not is_url(url):
        raise UsageError(
            "not a PostgreSQL URL",
            target=display_url(url),
            remedy="give postgresql://USER@HOST[:PORT]/DATABASE",
        )
    require_driver(url)


@click.command("migrate")
@click.option("--to", "to_url", required=True, metavar="URL", help="The shared ledger.")
@click.option(
    "--from",
    "from_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The SQLite ledger to copy (default: <home>/ledger.db).",
)
@json_option
@home_option
def migrate_command(to_url: str, from_path: Path | None, as_json: bool, home: Home) -> None:
    """Copy this station's ledger into the shared ledger at URL: every entry (but
    checkpoints) in order, signed by this station, each citing its original ledger id,
    seq and hash. All or nothing; keep the old file, whose chain the copies cite. Then
    point the station at URL ([ledger] url in config.toml)."""
    _require_url(to_url)
    source_path = from_path or home.ledger_path
    if not source_path.exists():
        raise TargetError(
            "there is no ledger to migrate here",
            target=str(source_path),
            remedy="check --home, or give the file with --from",
        )
    station = open_station(home)
    try:
        with (
            open_store(source_path, create=False) as source,
            records.create_ledger(Home(home.root, to_url), station) as target,
        ):
            result = migrate(source, target, actor=station.settings.operator, now=datetime.now(UTC))
    finally:
        key_notice(station)
    if as_json:
        emit_json("ledger-migrate", result.to_dict())
        return
    span = f" (seq {result.first_seq}..{result.last_seq})" if result.entries else ""
    click.echo(
        f"migrated {result.entries} entries{span} of ledger {result.source_ledger_id} into "
        f"ledger {result.target_ledger_id} at {result.target}; "
        f"{result.checkpoints_left} checkpoints stay in {result.source}"
    )
