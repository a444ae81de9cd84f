"""``expunge methods`` and ``expunge shred``: overwrite files, verify, remove, certify."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Literal

import click

from expunge.commands.frame import open_station, station_job
from expunge.commands.options import (
    cert_out_option,
    home_option,
    json_option,
    on_error_option,
    resume_option,
    technique_options,
)
from expunge.commands.render import (
    destructions_lines,
    emit_json,
    human_bytes,
    luks_container_lines,
    output_format,
)
from expunge.core.config import Home
from expunge.core.errors import UsageError
from expunge.shred.methods import CRYPTO_METHODS, REGISTRY, is_crypto_erase
from expunge.workflows import cryptoerase, destroy, records


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


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-r", "--recursive", is_flag=True, help="Destroy directories and their contents.")
@technique_options
@click.option("--keep", is_flag=True, help="Overwrite, but do not remove.")
@click.option("--dry-run", is_flag=True, help="Check and list; write nothing.")
@click.option("-i", "--interactive", is_flag=True, help="Ask before each file.")
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
    technique: destroy.Technique,
    keep: bool,
    dry_run: bool,
    interactive: bool,
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
    if is_crypto_erase(technique.method):
        _luks_erase(paths, home, cert_out, as_json, dry_run or recursive or interactive)
        return
    request = destroy.ShredRequest(
        paths=paths,
        method=technique.method,
        recursive=recursive,
        keep=keep,
        dry_run=dry_run,
        remove_on_failure=remove_on_failure,
        fingerprint=fingerprint,
        file_options=replace(technique.file_options, cross_filesystems=cross_filesystems),
        verify=technique.verify,
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
        with station_job(home, station, technique.method) as job:
            results = destroy.shred_paths(
                request,
                job.station,
                progress=job.progress,
                stop=job.stop,
                confirm=confirm,
                cert_out=cert_out,
                ledger=ledger,
            )
    output_format(as_json).report(results, destructions_lines)
    job.conclude(destroy.destructions_failure(results))


def _luks_erase(
    paths: tuple[str, ...], home: Home, cert_out: Path | None, as_json: bool, unsupported: bool
) -> None:
    if len(paths) != 1 or unsupported:
        raise UsageError(
            "-m luks-erase takes one LUKS container file, without -r, -i or --dry-run",
            target="--method",
            remedy="run it once per container",
        )
    with station_job(home) as job:
        result = cryptoerase.erase_luks_container(
            paths[0], job.station, progress=job.progress, stop=job.stop, cert_out=cert_out
        )
    output_format(as_json).report(result, luks_container_lines)
    job.conclude(result.failure, remedy=None)


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
