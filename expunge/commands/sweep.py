"""``expunge sweep``: destroy what is past its retention (run from a timer or cron)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click

from expunge.commands.frame import station_job
from expunge.commands.options import document_job_options, home_option, json_option
from expunge.commands.render import output_format
from expunge.core import clock
from expunge.core.config import Home
from expunge.core.errors import UsageError
from expunge.workflows import sweep


def _executable() -> list[str]:
    """The command a unit runs: this ``expunge`` executable, else the interpreter -m."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "expunge" and argv0.exists():
        return [str(argv0.resolve())]
    found = shutil.which("expunge")
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "expunge"]


def _log(line: str) -> None:
    click.echo(f"expunge sweep: {line}", err=True)


def _summary_lines(report: sweep.SweepReport) -> Iterator[str]:
    """The summary; the items themselves were logged to stderr as they happened."""
    verb = "would destroy" if report.dry_run else "destroyed"
    count = report.count("would-destroy" if report.dry_run else "destroyed")
    yield (
        f"sweep as of {clock.rfc3339(report.now)}: {verb} {count}, "
        f"skipped {report.count('skipped')}, failed {report.count('failed')}"
    )
    if report.report_path is not None:
        yield f"report: {report.report_path}"


@click.command("sweep")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Policy file (default: <home>/policy.toml, if present).",
)
@click.option("--dry-run", is_flag=True, help="List what would be destroyed; change nothing.")
@click.option("--now", "now_text", metavar="DATETIME", help="Sweep as of this time (audits).")
@click.option("--print-units", is_flag=True, help="Print the systemd service and timer.")
@click.option(
    "--write-units",
    "units_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the systemd service and timer into DIR (e.g. /etc/systemd/system).",
)
@click.option("--force", is_flag=True, help="With --write-units: replace unit files there.")
@json_option
@document_job_options
@home_option
def sweep_command(
    policy_file: Path | None,
    dry_run: bool,
    now_text: str | None,
    print_units: bool,
    units_dir: Path | None,
    force: bool,
    as_json: bool,
    home: Home,
) -> None:
    """Destroy every document past its retention, and old files the policy's rules match.

    Documents go through the same workflow as 'expunge destroy' (one certificate each),
    files matched by [[paths]] rules through the one of 'expunge shred'. One sweep runs
    at a time (exit 8 otherwise). Logs one line per item to stderr and writes the JSON
    report to <home>/sweeps/. Exits with the worst failure's code when anything failed.
    """
    if print_units and units_dir is not None:
        raise UsageError(
            "--print-units and --write-units both give the units",
            target="--write-units",
            remedy="choose one",
        )
    policy = sweep.load_policy(home, policy_file)
    if print_units or units_dir is not None:
        absolute = policy_file.absolute() if policy_file else None
        units = sweep.systemd_units(_executable(), home, policy, absolute)
        if units_dir is None:
            for name, text in units.items():
                click.echo(f"# {name}\n{text}")
            return
        for path in sweep.write_units(units, units_dir, force=force):
            click.echo(f"wrote {path}")
        click.echo(f"enable with: systemctl daemon-reload && systemctl enable --now {sweep.TIMER}")
        return
    now = clock.parse_date(now_text, "--now") if now_text else datetime.now(UTC)
    with station_job(home) as job:
        report = sweep.run_sweep(
            home, policy, job.station, now=now, dry_run=dry_run, log=_log, stop=job.stop
        )
    output_format(as_json, "sweep").report(report, _summary_lines)
    job.conclude(
        report.failure,
        interrupted="sweep interrupted; what was destroyed is certified and recorded",
        remedy="run 'expunge sweep' again to finish",
    )
