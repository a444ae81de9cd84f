"""``expunge methods`` and ``expunge shred``: overwrite files, verify, remove, certify."""

from __future__ import annotations

import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import click

from expunge.commands.destruction_text import Detail, destructions_lines
from expunge.commands.frame import open_station_recovering, station_job
from expunge.commands.json_output import emit_json
from expunge.commands.options import (
    cert_out_option,
    home_option,
    job_options,
    json_option,
    on_error_option,
    record_later_option,
    resume_option,
    technique_options,
)
from expunge.commands.render import Reportable, human_bytes, luks_container_lines, output_format
from expunge.core.config import Home
from expunge.core.errors import Interrupted, UsageError
from expunge.shred.methods import CRYPTO_METHODS, REGISTRY, SANITIZE_METHODS, is_crypto_erase
from expunge.workflows import cryptoerase, destroy, records


@click.command()
@json_option
def methods(as_json: bool) -> None:
    """List the overwrite methods with their passes and sources, and the crypto-erase ones."""
    if as_json:
        every = (*REGISTRY.values(), *CRYPTO_METHODS.values(), *SANITIZE_METHODS.values())
        emit_json("methods", [m.to_dict() for m in every])
        return
    for m in REGISTRY.values():
        click.echo(
            f"{m.name:<18} {m.pass_count:>2} pass{'es' if m.pass_count > 1 else '  '}  "
            f"{m.describe_passes()}"
        )
        click.echo(f"{'':<28}{m.source}")
        if m.note:
            click.echo(f"{'':<28}note: {m.note}")
    kinds = (
        ("cryptographic erase (keys, not content)", CRYPTO_METHODS),
        ("the drive's own erase command", SANITIZE_METHODS),
    )
    for kind, group in kinds:
        for m in group.values():
            click.echo(f"{m.name:<18} {kind}")
            click.echo(f"{'':<28}{m.source}")
            click.echo(f"{'':<28}note: {m.note}")


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-r", "--recursive", is_flag=True, help="Destroy directories and their contents.")
@technique_options
@click.option("--keep", is_flag=True, help="Overwrite, but do not remove.")
@click.option(
    "-u", "--remove", is_flag=True, help="Remove after overwriting (the default; as GNU shred -u)."
)
@click.option("--dry-run", is_flag=True, help="Check and list; write nothing.")
@click.option("-i", "--interactive", is_flag=True, help="Ask before each file.")
@click.option("--cross-filesystems", is_flag=True, help="Let -r descend into other filesystems.")
@click.option("--remove-on-failure", is_flag=True, help="Unlink even when verification fails.")
@click.option("--fingerprint", is_flag=True, help="Record each file's BLAKE3 digest before wiping.")
@resume_option
@on_error_option
@record_later_option
@cert_out_option
@click.option("-v", "--verbose", is_flag=True, help="List every file (with -r or several paths).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the certificate path and errors.")
@json_option
@job_options
@home_option
def shred(
    paths: tuple[str, ...],
    recursive: bool,
    technique: destroy.Technique,
    keep: bool,
    remove: bool,
    dry_run: bool,
    interactive: bool,
    cross_filesystems: bool,
    remove_on_failure: bool,
    fingerprint: bool,
    resume: bool,
    on_error: Literal["continue", "abort"],
    record_later: bool,
    cert_out: Path | None,
    verbose: bool,
    quiet: bool,
    as_json: bool,
    home: Home,
) -> None:
    """Overwrite files, verify them, remove them, and certify it.

    With -m luks-erase, PATH is a LUKS container file: its headers and keyslots are
    crypto-erased and read back, and the file is kept (as with --keep).
    """
    if remove and keep:
        raise UsageError(
            "-u/--remove and --keep contradict each other",
            target="--keep",
            remedy="drop one: files are removed unless --keep is given",
        )
    if is_crypto_erase(technique.method):
        unsupported = dry_run or recursive or interactive
        accept = technique.file_options.accept_limitations
        _luks_erase(paths, home, cert_out, as_json, unsupported, accept)
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
    station, recovered = open_station_recovering(home)
    operator = station.settings.operator
    with records.recording_ledger(home, operator, station, record_later=record_later) as ledger:
        if dry_run:
            _dry_run(request, home, ledger, as_json)
            return
        # Every question is asked before anything is written; Ctrl-C at a prompt leaves
        # everything as it was.
        plan = destroy.plan_paths(
            request,
            station,
            confirm=_ask if interactive else None,
            cert_out=cert_out,
            ledger=ledger,
            recovered=[r.destruction for r in recovered if r.destruction is not None],
        )
        with station_job(home, station, technique.method) as job:
            results = destroy.execute(
                plan,
                job.station,
                progress=job.progress,
                stop=job.stop,
                cert_out=cert_out,
                ledger=ledger,
            )
    detail = Detail.QUIET if quiet else Detail.FILES if verbose else Detail.SUMMARY
    output_format(as_json, "shred").report(
        ShredRun(False, results), lambda run: destructions_lines(results, detail)
    )
    job.conclude(destroy.destructions_failure(results))


def _luks_erase(
    paths: tuple[str, ...],
    home: Home,
    cert_out: Path | None,
    as_json: bool,
    unsupported: bool,
    accept_limitations: bool,
) -> None:
    if len(paths) != 1 or unsupported:
        raise UsageError(
            "-m luks-erase takes one LUKS container file, without -r, -i or --dry-run",
            target="--method",
            remedy="run it once per container",
        )
    with station_job(home) as job:
        result = cryptoerase.erase_luks_container(
            paths[0],
            job.station,
            progress=job.progress,
            stop=job.stop,
            cert_out=cert_out,
            accept_limitations=accept_limitations,
        )
    output_format(as_json, "shred-luks").report(result, luks_container_lines)
    job.conclude(result.failure, remedy=None)


def _ask(path: str) -> bool:
    try:
        return click.confirm(f"destroy {path}?", err=True)
    except click.exceptions.Abort:
        # Ctrl-C or end of input at a question: every question comes before any write.
        raise Interrupted(
            "stopped at the question; nothing was written", signum=signal.SIGINT, target=path
        ) from None


@dataclass(frozen=True)
class ShredRun:
    """What ``shred --json`` reports, a run or a dry run alike: one item per PATH, a
    destruction or (``dry_run``) the plan of one, in the same shape."""

    dry_run: bool
    items: Sequence[Reportable]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"dry_run": self.dry_run, "items": [item.to_dict() for item in self.items]}


def _dry_run(
    request: destroy.ShredRequest,
    home: Home,
    ledger: records.LedgerLink | records.Deferred | None,
    as_json: bool,
) -> None:
    targets = destroy.preflight(request, ledger, home.root)
    output_format(as_json, "shred").report(
        ShredRun(True, targets), lambda run: _plan_lines(request, targets)
    )


def _plan_lines(
    request: destroy.ShredRequest, targets: Sequence[destroy.TargetPlan]
) -> Iterator[str]:
    planned = [p for t in targets for p in t.chosen]
    for p in planned:
        notes = f" [{', '.join(p.limitations)}]" if p.limitations else ""
        docs = f" registered as {', '.join(p.documents)}" if p.documents else ""
        yield f"would destroy: {p.path} ({human_bytes(p.size)}, {p.filesystem}){notes}{docs}"
    yield f"{len(planned)} file(s), method {request.method.name}; nothing was written (--dry-run)"
