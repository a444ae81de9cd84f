"""``expunge methods`` and ``expunge shred``: overwrite files, verify, remove, certify."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Literal

import click

from expunge.commands.common import (
    cert_out_option,
    emit_json,
    file_options,
    home_option,
    human_bytes,
    json_option,
    key_notice,
    method_options,
    open_station,
    progress_sink,
    stop_on_signals,
    verification_line,
    verify_options,
)
from expunge.core.config import Home
from expunge.core.errors import (
    Interrupted,
    MediaIOError,
    UsageError,
    VerificationError,
)
from expunge.shred.files import FileOptions
from expunge.shred.methods import CRYPTO_METHODS, REGISTRY, Method, is_crypto_erase
from expunge.shred.report import ByteRange
from expunge.verify import VerifyOptions
from expunge.workflows import cryptoerase, destroy, records

# Text output lists this many unwritten ranges per file; --json lists them all.
SHOWN_RANGES = 10

resume_option = click.option(
    "--resume", is_flag=True, help="Finish an interrupted wipe from its journal."
)
on_error_option = click.option(
    "--on-error",
    type=click.Choice(["continue", "abort"]),
    default="continue",
    show_default=True,
    help="On a write error: write everything else, or stop the pass.",
)


def unwritten_lines(ranges: tuple[ByteRange, ...]) -> list[str]:
    """The ranges the medium refused, as text lines (at most ``SHOWN_RANGES``)."""
    if not ranges:
        return []
    total = sum(r.length for r in ranges)
    lines = [f"unwritten: {len(ranges)} range(s), {total} bytes"]
    lines += [f"  [{r.start}, {r.end}) {r.length} bytes" for r in ranges[:SHOWN_RANGES]]
    if len(ranges) > SHOWN_RANGES:
        lines.append(f"  ... and {len(ranges) - SHOWN_RANGES} more (--json lists all)")
    return lines


@click.command()
@json_option
def methods(as_json: bool) -> None:
    """List the overwrite methods with their passes and sources, and the crypto-erase ones."""
    if as_json:
        emit_json([m.to_dict() for m in (*REGISTRY.values(), *CRYPTO_METHODS.values())])
        return
    for m in REGISTRY.values():
        click.echo(
            f"{m.name:<18} {m.pass_count:>2} pass{'es' if m.pass_count > 1 else '  '}  "
            f"{m.describe_passes()}"
        )
        click.echo(f"{'':<28}{m.source}")
        if m.note:
            click.echo(f"{'':<28}note: {m.note}")
    for m in CRYPTO_METHODS.values():
        click.echo(f"{m.name:<18} cryptographic erase (keys, not content)")
        click.echo(f"{'':<28}{m.source}")
        click.echo(f"{'':<28}note: {m.note}")


def render_destruction(result: destroy.Destruction) -> None:
    """What one destruction did, its certificate and what the ledger recorded."""
    mark = {
        "success": "destroyed",
        "partial": "PARTIAL",
        "failed": "FAILED",
        "interrupted": "INTERRUPTED",
    }
    for outcome in result.files:
        wipe = outcome.wipe
        seconds = sum(p.seconds for p in wipe.passes)
        written = sum(p.bytes_written - p.resumed_from for p in wipe.passes)
        rate = f", {human_bytes(written / seconds)}/s" if seconds else ""
        click.echo(
            f"{mark[outcome.status]}: {outcome.path} ({human_bytes(wipe.identity.size)}, "
            f"{wipe.method}, {len(wipe.passes)}/{wipe.planned_passes} passes{rate}"
            f"{', removed' if wipe.removed else ', kept'})"
        )
        if outcome.verification is not None:
            click.echo(f"  {verification_line(outcome.verification)}")
        for lim in wipe.limitations:
            click.echo(f"  note: {lim.text}")
        for err in wipe.errors + tuple(p.error for p in wipe.passes if p.error):
            click.echo(f"  error: {err}")
        for line in unwritten_lines(wipe.unwritten):
            click.echo(f"  {line}")
        for event in outcome.journal_events:
            click.echo(f"  {event.kind} at pass {event.pass_index}, offset {event.offset}")
        if outcome.status == "interrupted" and not wipe.removed:
            click.echo(f"  to finish: expunge shred --resume {outcome.path}")
    for err in result.errors:
        click.echo(f"  error: {err}")
    if result.kind == "directory":
        click.echo(f"{mark[result.status]}: {result.target} ({len(result.files)} files)")
    if result.certificate is not None:
        click.echo(f"certificate ({result.certificate.outcome}): {result.certificate.path}")
    if result.ledger is not None:
        for done in result.ledger.recorded:
            where = ", ".join([*done.paths, *done.media])
            click.echo(f"ledger: {done.doc_id} destroyed at {where} (seq {done.seq})")
        for note in result.ledger.notes:
            click.echo(f"ledger: note: {note}")
        if result.ledger.error:
            click.echo(f"ledger: ERROR: {result.ledger.error}")


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-r", "--recursive", is_flag=True, help="Destroy directories and their contents.")
@method_options
@verify_options
@click.option("--keep", is_flag=True, help="Overwrite, but do not remove.")
@click.option("--dry-run", is_flag=True, help="Check and list; write nothing.")
@click.option("-i", "--interactive", is_flag=True, help="Ask before each file.")
@file_options
@click.option("--cross-filesystems", is_flag=True, help="Let -r descend into other filesystems.")
@click.option("--remove-on-failure", is_flag=True, help="Unlink even when verification fails.")
@click.option("--fingerprint", is_flag=True, help="Record each file's BLAKE3 digest before wiping.")
@resume_option
@on_error_option
@cert_out_option
@json_option
@home_option
def shred(
    paths: tuple[str, ...],
    recursive: bool,
    method: Method,
    verify: VerifyOptions,
    keep: bool,
    dry_run: bool,
    interactive: bool,
    file_options: FileOptions,
    cross_filesystems: bool,
    remove_on_failure: bool,
    fingerprint: bool,
    resume: bool,
    on_error: Literal["continue", "abort"],
    cert_out: Path | None,
    as_json: bool,
    home: Home,
) -> None:
    """Overwrite files, verify them, remove them, and certify it.

    With -m luks-erase, PATH is a LUKS container file: its headers and keyslots are
    crypto-erased and read back, and the file is kept (as with --keep).
    """
    if is_crypto_erase(method):
        _luks_erase(paths, home, cert_out, as_json, dry_run or recursive or interactive)
        return
    request = destroy.ShredRequest(
        paths=paths,
        method=method,
        recursive=recursive,
        keep=keep,
        dry_run=dry_run,
        remove_on_failure=remove_on_failure,
        fingerprint=fingerprint,
        file_options=replace(file_options, cross_filesystems=cross_filesystems),
        verify=verify,
        resume=resume,
        on_error=on_error,
    )
    station = open_station(home)
    with records.station_ledger(home, station.settings.operator) as ledger:
        if dry_run:
            _dry_run(request, ledger, as_json)
            return
        confirm = (
            (lambda path: click.confirm(f"destroy {path}?", err=True)) if interactive else None
        )
        with stop_on_signals() as (stop, received):
            try:
                results = destroy.shred_paths(
                    request,
                    station,
                    progress=progress_sink(),
                    stop=stop,
                    confirm=confirm,
                    cert_out=cert_out,
                    ledger=ledger,
                )
            finally:
                key_notice(station)
    if as_json:
        emit_json([r.to_dict() for r in results])
    else:
        for result in results:
            render_destruction(result)
    exit_for(results, received)


def _luks_erase(
    paths: tuple[str, ...], home: Home, cert_out: Path | None, as_json: bool, unsupported: bool
) -> None:
    if len(paths) != 1 or unsupported:
        raise UsageError(
            "-m luks-erase takes one LUKS container file, without -r, -i or --dry-run",
            target="--method",
            remedy="run it once per container",
        )
    station = open_station(home)
    with stop_on_signals() as (stop, received):
        try:
            result = cryptoerase.erase_luks_container(
                paths[0], station, progress=progress_sink(), stop=stop, cert_out=cert_out
            )
        finally:
            key_notice(station)
    report = result.work.report
    if as_json:
        emit_json(result.to_dict())
    else:
        erased = report.layout.erase_range
        click.echo(
            f"crypto-erased: {result.path} (LUKS{report.layout.version} {report.layout.uuid}, "
            f"bytes [0, {erased.end}) overwritten, read back: "
            f"{'clean' if report.verification.passed else 'MISMATCH'}; file kept)"
        )
        for lim in report.limitations:
            click.echo(f"  note: {lim.text}")
        click.echo(f"certificate ({result.certificate.outcome}): {result.certificate.path}")
    if received:
        raise Interrupted("interrupted; what was written is recorded above", signum=received[0])
    if result.status != "success":
        raise VerificationError(
            "the LUKS erase did not read back clean", target=result.path, remedy="run it again"
        )


def _dry_run(
    request: destroy.ShredRequest, ledger: records.LedgerLink | None, as_json: bool
) -> None:
    planned = destroy.preflight(request, ledger)
    if as_json:
        emit_json({"dry_run": True, "files": [p.to_dict() for p in planned]})
        return
    for p in planned:
        notes = f" [{', '.join(p.limitations)}]" if p.limitations else ""
        docs = f" registered as {', '.join(p.documents)}" if p.documents else ""
        click.echo(f"would destroy: {p.path} ({human_bytes(p.size)}, {p.filesystem}){notes}{docs}")
    click.echo(
        f"{len(planned)} file(s), method {request.method.name}; nothing was written (--dry-run)"
    )


def exit_for(results: tuple[destroy.Destruction, ...], received: list[int]) -> None:
    """The exit status of destructions: interrupted, unverified, incomplete, unrecorded."""
    if received:
        raise Interrupted(
            "interrupted; what was written is recorded above",
            signum=received[0],
            remedy="run the same command with --resume to finish",
        )
    unverified = [f for r in results for f in r.files if f.verification_failed]
    if unverified:
        raise VerificationError(
            "read-back found content other than what was written",
            target=", ".join(f.path for f in unverified),
            remedy="the file was kept for inspection (--remove-on-failure removes it); "
            "check the medium",
        )
    failed = [r for r in results if r.status != "success"]
    if failed:
        raise MediaIOError(
            "the destruction did not complete",
            target=", ".join(r.target for r in failed),
            remedy="see the errors above; the medium may be failing",
        )
    for result in results:
        if result.ledger is not None and result.ledger.failure is not None:
            raise result.ledger.failure
