"""``expunge ledger sync`` (deliver the records queued while the shared ledger was
unreachable) and ``expunge ledger status`` (where the ledger is, its head, what waits in
the outbox)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import click

from expunge.commands.frame import key_notice, open_station
from expunge.commands.json_output import emit_json
from expunge.commands.options import home_option, json_option
from expunge.core import paths
from expunge.core.config import Home, ledger_location
from expunge.core.errors import ExpungeError, IntegrityError, TargetError
from expunge.ledger.postgres.urls import display_url
from expunge.workflows import records


def sync_lines(result: records.Sync, *, quiet_when_empty: bool = False) -> Iterator[str]:
    """What a delivery did, one line per record (none for an empty outbox when quiet)."""
    for done in result.delivered:
        if done.already and not done.recorded:
            yield (
                f"delivered certificate {done.certificate_id}: already recorded for "
                f"{', '.join(done.already)} (not recorded twice)"
            )
        elif not done.recorded:
            yield (
                f"delivered certificate {done.certificate_id}: it destroyed no registered "
                "document, nothing to record"
            )
        for entry in done.recorded:
            where = ", ".join([*(paths.readable(p) for p in entry.paths), *entry.media])
            yield (
                f"delivered certificate {done.certificate_id}: {entry.doc_id} destroyed at "
                f"{where} (seq {entry.seq})"
            )
        for note in done.notes:
            yield f"  note: {paths.readable(note)}"
    for kept in result.kept:
        yield f"kept certificate {kept.key}: {kept.reason}"
    if result.failure is not None:
        yield f"stopped: {result.failure.diagnostics()}"
    if not quiet_when_empty and not (result.delivered or result.kept or result.failure):
        yield "outbox empty: nothing to deliver"


def _failure(result: records.Sync, home: Home) -> ExpungeError | None:
    """The error to exit with: the ledger gone again (4), a damaged record (7), records
    for another ledger (4); ``None`` when everything queued was delivered."""
    if result.failure is not None:
        return result.failure
    damaged = [k.key for k in result.kept if k.damaged]
    if damaged:
        return IntegrityError(
            f"{len(damaged)} queued records do not verify as this station's "
            f"({', '.join(damaged)}): not delivered",
            target=str(home.outbox),
            remedy="keep them for inspection, and move them out of the outbox to go on",
        )
    if result.kept:
        return TargetError(
            f"{len(result.kept)} queued records are for another ledger",
            target=str(home.outbox),
            remedy="run 'expunge ledger sync --ledger URL' with the ledger they name",
        )
    return None


@click.command("sync")
@json_option
@home_option
def sync_command(as_json: bool, home: Home) -> None:
    """Deliver the destruction records queued in <home>/outbox/ while the shared ledger
    was unreachable: each exactly once, signed by this station and chained to the
    ledger's head now; a certificate that destroyed no registered document is delivered
    as nothing. Exit 0 when the outbox is empty afterwards."""
    station = open_station(home, deliver=False)  # delivered here, and said on stdout
    try:
        result = records.Sync()
        if records.pending_records(home):
            store = records.existing_ledger(home, station)
            if store is None:
                raise TargetError(
                    "records are queued, but this station has no ledger to deliver them to",
                    target=str(home.outbox),
                    remedy="point it at the shared ledger: --ledger URL or [ledger] url",
                )
            with store:
                result = records.deliver(home, store, station)
    finally:
        key_notice(station)
    if as_json:
        emit_json("ledger-sync", result.to_dict())
    else:
        for line in sync_lines(result):
            click.echo(line)
    failure = _failure(result, home)
    if failure is not None:
        raise failure


def _queued(home: Home) -> list[dict[str, Any]]:
    shown = []
    for key in records.pending_records(home):
        try:
            data = json.loads((home.outbox / f"{key}.json").read_bytes())
        except (OSError, ValueError):
            data = {}
        data = data if isinstance(data, dict) else {}
        shown.append(
            {
                "certificate_id": key,
                "certificate": data.get("certificate"),
                "queued": data.get("queued"),
                "ledger": data.get("ledger"),
                "medium": data.get("medium"),
            }
        )
    return shown


@click.command("status")
@json_option
@home_option
def status_command(as_json: bool, home: Home) -> None:
    """Where this station's ledger is, whether it answers, its head, and the records
    waiting in the outbox for delivery ('expunge ledger sync')."""
    status: dict[str, Any] = {
        "ledger": display_url(ledger_location(home)),
        "shared": records.shared(home),
        "reachable": False,
        "ledger_id": None,
        "head_seq": None,
        "error": None,
    }
    try:
        store = records.existing_ledger(home)
        if store is not None:
            with store:
                head = store.head()
                status.update(reachable=True, ledger_id=store.ledger_id)
                status["head_seq"] = head.seq if head else 0
    except ExpungeError as exc:
        status["error"] = exc.diagnostics()
    status["outbox"] = _queued(home)
    if as_json:
        emit_json("ledger-status", status)
        return
    kind = "shared" if status["shared"] else "this station's file"
    if status["error"]:
        click.echo(f"ledger {status['ledger']} ({kind}): UNREACHABLE: {status['error']}")
    elif status["ledger_id"] is None:
        click.echo(f"ledger {status['ledger']} ({kind}): none yet")
    else:
        click.echo(
            f"ledger {status['ledger']} ({kind}): ledger {status['ledger_id']}, head seq "
            f"{status['head_seq']}"
        )
    queued = status["outbox"]
    if not queued:
        click.echo("outbox: empty")
        return
    click.echo(
        f"outbox: {len(queued)} destruction records not delivered yet ('expunge ledger sync'):"
    )
    for item in queued:
        what = f"medium {item['medium']}" if item["medium"] else "files"
        click.echo(
            f"  certificate {item['certificate_id']} ({what}), queued {item['queued']}: "
            f"{item['certificate']}"
        )
