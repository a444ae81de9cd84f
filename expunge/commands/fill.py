"""``expunge fill MOUNTPOINT``: overwrite a mounted filesystem's free space, and FAT's
deleted names, verify, free it again, certify."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

from expunge.commands.frame import station_job
from expunge.commands.options import (
    cert_out_option,
    home_option,
    job_options,
    json_option,
    method_options,
    resume_option,
    verify_options,
)
from expunge.commands.render import human_bytes, output_format, verification_line
from expunge.core.config import Home
from expunge.shred.methods import Method
from expunge.verify import VerifyOptions
from expunge.workflows import fill

_MARK = {
    "success": "filled",
    "partial": "PARTIAL",
    "failed": "FAILED",
    "interrupted": "INTERRUPTED",
}


@click.command("fill")
@click.argument("mountpoint")
@method_options
@verify_options
@resume_option
@cert_out_option
@json_option
@job_options
@home_option
def fill_command(
    mountpoint: str,
    method: Method,
    verify: VerifyOptions,
    resume: bool,
    cert_out: Path | None,
    as_json: bool,
    home: Home,
) -> None:
    """Overwrite the free space of the filesystem mounted at MOUNTPOINT, verify, certify.

    Fill files take the free space (blocks reserved for root too, when run as root), each
    pass is synced and the last one read back, then the files are removed. On FAT the
    free directory entries, where deleted names linger, are refilled first. Ctrl-C stops
    it; --resume finishes it. Copy-on-write, network and memory filesystems are refused.
    """
    request = fill.FillRequest(mountpoint, method, verify, resume)
    with station_job(home) as job:
        result = fill.fill_free_space(
            request, job.station, progress=job.progress, stop=job.stop, cert_out=cert_out
        )
    output_format(as_json, "fill").report(result, _lines)
    job.conclude(
        result.failure,
        interrupted="interrupted; its fill files keep the free space until it is finished",
        remedy=f"run 'expunge fill --resume {mountpoint}' to finish",
        target=mountpoint,
    )


def _lines(result: fill.FillResult) -> Iterator[str]:
    work = result.work
    names = (
        f"; {work.names_refilled} free directory entries refilled"
        if work.names_refilled is not None
        else ""
    )
    done = sum(p.complete for p in work.passes)
    yield (
        f"{_MARK[work.status]}: free space of {work.mountpoint} ({work.kind} on {work.source}): "
        f"{human_bytes(work.bytes_filled)} overwritten in {work.files} file(s), "
        f"{done}/{work.planned_passes} passes, {work.method.name}{names}"
    )
    for _, check in work.checks[:1]:
        total = sum(c.blocks_checked for _, c in work.checks)
        yield f"  {verification_line(check)} (first file; {total} samples in all)"
    for lim in work.limitations:
        yield f"  note: {lim.text}"
    for error in work.errors:
        yield f"  error: {error}"
    if work.status == "interrupted":
        yield f"  to finish: expunge fill --resume {work.mountpoint} (same options)"
    elif work.removed:
        yield "  fill files removed: the space is free again"
    if result.certificate is not None:
        yield f"  certificate ({result.certificate.outcome}): {result.certificate.path}"
