"""``expunge ledger``: register documents, record copies, custody and write-offs, list,
show, export, and sign checkpoints. Every entry appended is signed by the station key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from expunge.commands import completion
from expunge.commands.frame import key_notice, open_station
from expunge.commands.json_output import emit_json
from expunge.commands.options import home_option, json_option
from expunge.commands.render import human_bytes
from expunge.core import clock
from expunge.core.atomic import write_atomic
from expunge.core.config import Home
from expunge.core.errors import UsageError
from expunge.core.paths import is_raw, path_fields, readable
from expunge.ledger.entries import Entry
from expunge.ledger.events import (
    WRITE_OFF_REASONS,
    Checkpoint,
    Copy,
    Destroy,
    Register,
    Seal,
    Transfer,
    WriteOff,
    format_time,
)
from expunge.ledger.export import export_lines
from expunge.ledger.ids import validate_document_id
from expunge.ledger.state import DocumentState, all_documents
from expunge.ledger.store import LedgerStore
from expunge.workflows import records
from expunge.workflows.certify import Station


@contextmanager
def _notice(station: Station) -> Iterator[None]:
    """Say where the station key was created, if appending created it."""
    try:
        yield
    finally:
        key_notice(station)


def _now() -> datetime:
    return datetime.now(UTC)


def _record(home: Home, as_json: bool, append: Callable[[LedgerStore, str], Entry]) -> None:
    """Append one entry to the home's ledger as this station (``append(store, actor)``),
    and say what it records."""
    station = open_station(home)
    with _notice(station), records.require_ledger(home, station) as store:
        entry = append(store, station.settings.operator)
    if as_json:
        emit_json("ledger-entry", {"entry": entry.to_dict()})
        return
    click.echo(f"{entry.event.doc_id} (seq {entry.seq}): {describe_event(entry)}")


def describe_event(entry: Entry) -> str:
    """One line saying what an entry records."""
    event = entry.event
    if isinstance(event, Register):
        retain = f", retain until {format_time(event.retain_until)}" if event.retain_until else ""
        return (
            f"registered {readable(event.path)} ({event.classification}, "
            f"custodian {event.custodian}, {human_bytes(event.size)}, "
            f"blake3 {event.digest[:16]}…{retain})"
        )
    if isinstance(event, Copy):
        to = readable(event.to_path) if event.to_path else f"medium {event.to_medium}"
        return f"copied to {to}"
    if isinstance(event, Transfer):
        return f"custody passed to {event.custodian}"
    if isinstance(event, Seal):
        return f"sealed at {readable(event.sealed_path)} (key {event.key_id})"
    if isinstance(event, Destroy):
        where = [*map(readable, event.paths), *(f"medium {m}" for m in event.media)]
        if event.key_erased:
            where.append("its key (crypto-erase)")
        return (
            f"destroyed {', '.join(where)} by certificate {event.certificate_id} ({event.method})"
        )
    if isinstance(event, WriteOff):
        return (
            f"wrote off the copy of seq {event.copy_seq} ({event.reason}, witness {event.witness})"
        )
    if isinstance(event, Checkpoint):
        return f"checkpoint: signed seq {event.seq} (key {event.keyid[:16]}…)"
    raise AssertionError(f"unknown event {event!r}")


@click.group()
def ledger() -> None:
    """The register of confidential documents: what exists, where, who holds it."""


@ledger.command("register")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--classification", required=True, help="Level, e.g. confidential, secret.")
@click.option("-r", "--recursive", is_flag=True, help="Register every file below folders.")
@click.option(
    "--skip-registered",
    is_flag=True,
    help="Pass over files already registered (default: refuse the whole call).",
)
@click.option("--title", default=None, help="Title (default: the file name; one file only).")
@click.option("--custodian", default=None, help="Who holds it (default: the operator).")
@click.option("--id", "doc_id", default=None, help="Document id (default: DOC-<year>-<n>).")
@click.option("--retain-until", default=None, help="YYYY-MM-DD (end of day, UTC) or RFC 3339.")
@click.option("--retain-for", default=None, help="From now: 90d, 12w, 6m, 1y.")
@click.option("-v", "--verbose", is_flag=True, help="With many files: a line per document.")
@json_option
@home_option
def register(
    paths: tuple[str, ...],
    classification: str,
    recursive: bool,
    skip_registered: bool,
    title: str | None,
    custodian: str | None,
    doc_id: str | None,
    retain_until: str | None,
    retain_for: str | None,
    verbose: bool,
    as_json: bool,
    home: Home,
) -> None:
    """Register the files at PATH... as confidential documents (their BLAKE3 digests are
    kept); with -r, every file below the folders named, in one transaction per batch."""
    now = _now()
    for name, value in (("--title", title), ("--custodian", custodian)):
        if value is not None and is_raw(value):
            raise UsageError(
                f"{name} {readable(value)!r} is not UTF-8 text",
                target=name,
                remedy="give it in UTF-8 (titles and custodians are recorded as text)",
            )
    retain = clock.retention(retain_until, retain_for, now)
    policy = records.load_policy(home)
    policy.require(classification)
    if recursive or len(paths) > 1:
        _register_many(
            home,
            paths,
            classification,
            custodian,
            retain,
            recursive=recursive,
            skip_registered=skip_registered,
            refused={"--id": doc_id, "--title": title},
            verbose=verbose,
            as_json=as_json,
        )
        return
    if doc_id is not None:
        validate_document_id(doc_id)
    records.list_files(paths, recursive=False)  # a folder: refused, naming -r
    content = records.read_content(paths[0])
    station = open_station(home)
    actor = station.settings.operator
    with _notice(station), records.create_ledger(home, station) as store:
        entry = records.register_document(
            store,
            content,
            classification=classification,
            policy=policy,
            title=title,
            custodian=custodian or actor,
            doc_id=doc_id,
            retain_until=retain,
            actor=actor,
            now=now,
        )
        state = records.document(store, str(entry.event.doc_id), now)
    if as_json:
        emit_json("ledger-register", {"seq": entry.seq, **state.to_dict()})
        return
    click.echo(f"{state.doc_id} (seq {entry.seq}): {describe_event(entry)}")


def _register_many(
    home: Home,
    paths: tuple[str, ...],
    classification: str,
    custodian: str | None,
    retain: datetime | None,
    *,
    recursive: bool,
    skip_registered: bool,
    refused: dict[str, str | None],
    verbose: bool,
    as_json: bool,
) -> None:
    """``register`` of several files or folders: every file read first, then registered
    under generated ids, one transaction per batch."""
    for option, value in refused.items():
        if value is not None:
            raise UsageError(
                f"{option} names one document, and this registers several",
                target=option,
                remedy=f"register that file on its own to give it {option}",
            )
    listed = records.list_files(paths, recursive=recursive)
    contents = records.read_all(listed.files)
    station = open_station(home)
    actor = station.settings.operator
    with _notice(station), records.create_ledger(home, station) as store:
        done = records.register_documents(
            store,
            contents,
            classification=classification,
            policy=records.load_policy(home),
            custodian=custodian or actor,
            retain_until=retain,
            skip_registered=skip_registered,
            actor=actor,
            now=_now(),
        )
    if as_json:
        emit_json(
            "ledger-register-many",
            {
                "registered": [
                    {"seq": e.seq, "doc_id": e.event.doc_id, **path_fields(_path_of(e))}
                    for e in done.entries
                ],
                "skipped_registered": [
                    {"doc_id": loc.doc_id, **path_fields(loc.path)} for loc in done.skipped
                ],
                "not_files": [path_fields(p)["path"] for p in listed.not_files],
            },
        )
        return
    if verbose:
        for entry in done.entries:
            click.echo(f"{entry.event.doc_id} (seq {entry.seq}): {describe_event(entry)}")
    passed = {loc.path for loc in done.skipped}
    total = sum(c.size for c in contents if c.path not in passed)
    ids = [str(e.event.doc_id) for e in done.entries]
    span = f" ({ids[0]})" if len(ids) == 1 else f" ({ids[0]} to {ids[-1]})" if ids else ""
    click.echo(
        f"registered {len(ids)} document{'' if len(ids) == 1 else 's'}{span}, "
        f"{human_bytes(total)}, {classification}"
        + (f"; {len(done.skipped)} already registered, passed over" if done.skipped else "")
    )
    if listed.not_files:
        click.echo(
            f"{len(listed.not_files)} entries are not regular files (symlinks, devices...) "
            f"and were not registered, e.g. {readable(listed.not_files[0])}",
            err=True,
        )


def _path_of(entry: Entry) -> str:
    assert isinstance(entry.event, Register)
    return entry.event.path


@ledger.command("copy")
@click.argument("doc_id", metavar="DOC", shell_complete=completion.documents)
@click.option("--to", "to_path", default=None, help="The path the copy was written to.")
@click.option("--medium", default=None, help="Identity token of the medium (serial, diskseq:N).")
@json_option
@home_option
def copy(doc_id: str, to_path: str | None, medium: str | None, as_json: bool, home: Home) -> None:
    """Record a copy of DOC, at a path (checked by digest) or on a removable medium."""
    validate_document_id(doc_id)
    if (to_path is None) == (medium is None):
        raise UsageError(
            "a copy goes either to a path or to a medium",
            target="ledger copy",
            remedy="give exactly one of --to PATH or --medium TOKEN",
        )
    _record(
        home,
        as_json,
        lambda store, actor: records.record_copy(
            store, doc_id, to_path=to_path, to_medium=medium, actor=actor, now=_now()
        ),
    )


@ledger.command("transfer")
@click.argument("doc_id", metavar="DOC", shell_complete=completion.documents)
@click.option("--to", "custodian", required=True, help="The new custodian.")
@json_option
@home_option
def transfer(doc_id: str, custodian: str, as_json: bool, home: Home) -> None:
    """Record that custody of DOC passes to someone else."""
    _record(
        home,
        as_json,
        lambda store, actor: records.record_transfer(
            store, doc_id, custodian, actor=actor, now=_now()
        ),
    )


@ledger.command("write-off")
@click.argument("doc_id", metavar="DOC", shell_complete=completion.documents)
@click.option(
    "--copy",
    "copy_ref",
    required=True,
    help="The copy: the seq of its copy entry (see 'ledger show'), its path or medium token.",
)
@click.option("--reason", required=True, type=click.Choice(WRITE_OFF_REASONS))
@click.option("--witness", required=True, help="Who attests it (a name).")
@json_option
@home_option
def write_off(
    doc_id: str, copy_ref: str, reason: str, witness: str, as_json: bool, home: Home
) -> None:
    """Close a copy of DOC that nobody can bring back (a lost stick, a medium destroyed
    physically): a signed entry that 'expunge audit' accepts and reports."""
    validate_document_id(doc_id)
    _record(
        home,
        as_json,
        lambda store, actor: records.record_write_off(
            store, doc_id, copy=copy_ref, reason=reason, witness=witness, actor=actor, now=_now()
        ),
    )


def _list_line(state: DocumentState) -> str:
    status = state.status + (" OVERDUE" if state.overdue else "")
    retain = format_time(state.retain_until)[:10] if state.retain_until else "-"
    outstanding = len(state.outstanding)
    copies = f", {outstanding} copies outstanding" if outstanding else ""
    return (
        f"{state.doc_id:<18} {status:<18} {state.classification:<13} {retain:<10}  "
        f"{state.custodian}: {state.title}{copies}"
    )


@ledger.command("list")
@click.option(
    "--status",
    type=click.Choice(["registered", "sealed", "destroyed"]),
    default=None,
    help="Only documents in this state.",
)
@click.option("--overdue", is_flag=True, help="Only documents past retention, not destroyed.")
@json_option
@home_option
def list_(status: str | None, overdue: bool, as_json: bool, home: Home) -> None:
    """List registered documents with their state (derived from the events)."""
    store = records.existing_ledger(home)
    documents: tuple[DocumentState, ...] = ()
    if store is not None:
        with store:
            documents = all_documents(store.entries(), _now())
    shown = [
        d
        for d in documents
        if (status is None or d.status == status) and (not overdue or d.overdue)
    ]
    if as_json:
        emit_json("ledger-list", [d.to_dict() for d in shown])
        return
    if not shown:
        click.echo("no documents" + (" match" if documents else " registered"))
        return
    click.echo(f"{'DOC':<18} {'STATUS':<18} {'LEVEL':<13} {'RETAIN':<10}  CUSTODIAN: TITLE")
    for state in shown:
        click.echo(_list_line(state))


@ledger.command("show")
@click.argument("doc_id", metavar="DOC", shell_complete=completion.documents)
@json_option
@home_option
def show(doc_id: str, as_json: bool, home: Home) -> None:
    """A document's state, locations and history."""
    with records.require_ledger(home) as store:
        state = records.document(store, doc_id, _now())
        history = store.document_entries(doc_id)
    if as_json:
        emit_json("ledger-show", {**state.to_dict(), "entries": [e.to_dict() for e in history]})
        return
    overdue = " (OVERDUE)" if state.overdue else ""
    click.echo(f"{state.doc_id}: {state.title}")
    click.echo(f"  status:         {state.status}{overdue}")
    click.echo(f"  classification: {state.classification}")
    click.echo(f"  custodian:      {state.custodian}")
    retain = format_time(state.retain_until) if state.retain_until else "not set"
    click.echo(f"  retain until:   {retain}")
    click.echo(f"  content:        {human_bytes(state.size)}, blake3 {state.digest}")
    click.echo("  locations:")
    for loc in state.locations:
        by, off = loc.destroyed_by, loc.written_off
        if by is not None:
            how = f"destroyed at seq {by.seq} ({by.certificate_id})"
        elif off is not None:
            how = f"written off at seq {off.seq} ({off.reason}, witness {off.witness})"
        else:
            how = "OUTSTANDING"
        click.echo(f"    {loc.kind:<8} {loc.describe()} (seq {loc.seq}): {how}")
    click.echo("  history:")
    for entry in history:
        click.echo(
            f"    seq {entry.seq:<6} {format_time(entry.time)} {entry.actor}: "
            f"{describe_event(entry)}"
        )


@ledger.command("export")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File."
)
@home_option
def export(output: Path | None, home: Home) -> None:
    """Every entry as JSON Lines with its hashes, for an offline audit."""
    with records.require_ledger(home) as store:
        lines = list(export_lines(store.entries()))
    if output is None:
        for line in lines:
            click.echo(line)
        return
    write_atomic(output, "".join(f"{line}\n" for line in lines).encode(), 0o600)
    click.echo(f"exported {len(lines)} entries to {output}", err=True)


@ledger.command("checkpoint")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the checkpoint entry here (an anchor for 'expunge audit --anchor').",
)
@json_option
@home_option
def checkpoint(output: Path | None, as_json: bool, home: Home) -> None:
    """Sign the ledger's head with the station key and append it as a checkpoint."""
    station = open_station(home)
    with _notice(station), records.require_ledger(home, station) as store:
        entry = store.checkpoint(
            records.station_signer(station.key), actor=station.settings.operator, now=_now()
        )
    line = next(export_lines([entry]))
    if output is not None:
        write_atomic(output, f"{line}\n".encode(), 0o644)
    if as_json:
        emit_json("ledger-entry", {"entry": entry.to_dict()})
        return
    assert isinstance(entry.event, Checkpoint)
    click.echo(
        f"checkpoint (seq {entry.seq}) signs seq {entry.event.seq}, head "
        f"{entry.event.head_hash}, with key {entry.event.keyid}"
    )
    if output is not None:
        click.echo(f"anchor written to {output} (keep it away from this station)")


def _fleet_commands() -> None:
    # The shared ledger's commands live in their own module; they belong to this group.
    from expunge.commands.ledger_fleet import migrate_command, setup_postgres
    from expunge.commands.ledger_outbox import status_command, sync_command

    ledger.add_command(setup_postgres)
    ledger.add_command(migrate_command)
    ledger.add_command(sync_command)
    ledger.add_command(status_command)


_fleet_commands()
