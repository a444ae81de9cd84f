"""The command line: parse, confirm, render. The library does the work."""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from tqdm import tqdm

from expunge import __version__, destroy
from expunge.config import Home, resolve_home
from expunge.errors import ExpungeError, Interrupted, MediaIOError, UsageError, VerificationError
from expunge.shred.files import FileOptions
from expunge.shred.methods import REGISTRY, Method, choose_method
from expunge.shred.patterns import KEY_BYTES, PassPattern
from expunge.verify import VerificationReport, make_plan, probe_target, verify_path

F = TypeVar("F", bound=Callable[..., Any])


# ---------------------------------------------------------------- rendering helpers


def emit_json(value: Any) -> None:
    """Machine-readable output on stdout."""
    click.echo(json.dumps(value, indent=2, sort_keys=False))


def human_bytes(count: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


class TqdmProgress:
    """A ProgressSink drawing one tqdm bar per task on stderr, only on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._bars: dict[str, tqdm[Any]] = {}
        self._lock = threading.Lock()

    def start(self, task: str, total: int, label: str) -> None:
        """Open a bar for ``task``."""
        if not self._enabled:
            return
        with self._lock:
            old = self._bars.pop(task, None)
            if old is not None:
                old.close()
            name = task if len(task) <= 32 else "…" + task[-31:]
            self._bars[task] = tqdm(
                total=total,
                desc=f"{name} {label}",
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                leave=False,
                position=len(self._bars),
            )

    def advance(self, task: str, done: int) -> None:
        """Move ``task``'s bar forward."""
        with self._lock:
            bar = self._bars.get(task)
            if bar is not None:
                bar.update(done)

    def finish(self, task: str) -> None:
        """Close ``task``'s bar."""
        with self._lock:
            bar = self._bars.pop(task, None)
            if bar is not None:
                bar.close()


def progress_sink() -> TqdmProgress:
    """Progress bars on stderr when it is a terminal, nothing otherwise."""
    return TqdmProgress(sys.stderr.isatty())


@contextmanager
def stop_on_signals() -> Iterator[tuple[threading.Event, list[int]]]:
    """SIGINT/SIGTERM ask the work to stop after the current buffer, instead of killing it."""
    stop = threading.Event()
    received: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        received.append(signum)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop, received
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


# ---------------------------------------------------------------- shared options


def home_option(func: F) -> F:
    """``--home DIR`` (or EXPUNGE_HOME): where the key, ledger and certificates live."""

    @click.option(
        "--home",
        "home",
        type=click.Path(file_okay=False),
        default=None,
        help="Folder for the station key, ledger and certificates [env: EXPUNGE_HOME].",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, home: str | None, **kwargs: Any) -> Any:
        return func(*args, home=Home(resolve_home(home, os.environ)), **kwargs)

    return wrapper  # type: ignore[return-value]


def json_option(func: F) -> F:
    """``--json``: the report on stdout as JSON."""
    return click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")(func)


def method_options(func: F) -> F:
    """``-m/--method``, ``--passes``, ``--blank``: what to write."""

    @click.option(
        "-m", "--method", "method_name", default=None, help="Method (see 'expunge methods')."
    )
    @click.option("--passes", default=None, help="Custom passes, e.g. 00,ff,R,55aa.")
    @click.option("--blank", is_flag=True, help="Add a final zero pass.")
    @functools.wraps(func)
    def wrapper(
        *args: Any, method_name: str | None, passes: str | None, blank: bool, **kwargs: Any
    ) -> Any:
        return func(*args, method=choose_method(method_name, passes, blank), **kwargs)

    return wrapper  # type: ignore[return-value]


def verify_options(func: F) -> F:
    """``--verify``, ``--coverage``, ``--verify-all``: how to read the media back."""

    @click.option(
        "--verify",
        "verify_mode",
        type=click.Choice(["nist", "quick", "full", "none"]),
        default="nist",
        show_default=True,
        help="Read-back verification of the final pass.",
    )
    @click.option(
        "--coverage",
        type=click.FloatRange(0.001, 100.0),
        default=None,
        help="Percent of blocks sampled by --verify quick (default 1).",
    )
    @click.option("--verify-all", is_flag=True, help="Verify every pass, right after it.")
    @functools.wraps(func)
    def wrapper(
        *args: Any, verify_mode: str, coverage: float | None, verify_all: bool, **kwargs: Any
    ) -> Any:
        options = destroy.VerifyOptions(verify_mode, coverage, verify_all)
        return func(*args, verify=options, **kwargs)

    return wrapper  # type: ignore[return-value]


# ---------------------------------------------------------------- commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="expunge")
def cli() -> None:
    """Destroy confidential data and prove it."""


@cli.command()
@json_option
def methods(as_json: bool) -> None:
    """List the overwrite methods with their passes and sources."""
    if as_json:
        emit_json([m.to_dict() for m in REGISTRY.values()])
        return
    for m in REGISTRY.values():
        click.echo(
            f"{m.name:<18} {m.pass_count:>2} pass{'es' if m.pass_count > 1 else '  '}  "
            f"{m.describe_passes()}"
        )
        click.echo(f"{'':<28}{m.source}")
        if m.note:
            click.echo(f"{'':<28}note: {m.note}")


MAX_OFFSETS_SHOWN = 8


def _verification_line(report: VerificationReport) -> str:
    line = (
        f"verification {report.status}: {report.mode}, {report.blocks_checked} blocks, "
        f"{human_bytes(report.bytes_checked)} read ({report.coverage:.1%}), "
        f"{report.cache_bypass}"
    )
    if report.mismatches:
        shown = ", ".join(str(o) for o in report.mismatches[:MAX_OFFSETS_SHOWN])
        more = len(report.mismatches) - MAX_OFFSETS_SHOWN
        line += f"; MISMATCH at offset(s) {shown}" + (f" and {more} more" if more > 0 else "")
    return line


def _render_destruction(result: destroy.Destruction) -> None:
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
            click.echo(f"  {_verification_line(outcome.verification)}")
        for lim in wipe.limitations:
            click.echo(f"  note: {lim.text}")
        for err in wipe.errors + tuple(p.error for p in wipe.passes if p.error):
            click.echo(f"  error: {err}")
    for err in result.errors:
        click.echo(f"  error: {err}")
    if result.kind == "directory":
        click.echo(f"{mark[result.status]}: {result.target} ({len(result.files)} files)")


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-r", "--recursive", is_flag=True, help="Destroy directories and their contents.")
@method_options
@verify_options
@click.option("--keep", is_flag=True, help="Overwrite, but do not remove.")
@click.option("--dry-run", is_flag=True, help="Check and list; write nothing.")
@click.option("-i", "--interactive", is_flag=True, help="Ask before each file.")
@click.option("--allow-hardlinks", is_flag=True, help="Wipe files that have other names.")
@click.option(
    "--accept-limitations", is_flag=True, help="Overwrite where it cannot reach old copies."
)
@click.option("--force", is_flag=True, help="Wipe files open in other processes.")
@click.option("--cross-filesystems", is_flag=True, help="Let -r descend into other filesystems.")
@click.option("--remove-on-failure", is_flag=True, help="Unlink even when verification fails.")
@click.option("--fingerprint", is_flag=True, help="Record each file's BLAKE3 digest before wiping.")
@json_option
@home_option
def shred(
    paths: tuple[str, ...],
    recursive: bool,
    method: Method,
    verify: destroy.VerifyOptions,
    keep: bool,
    dry_run: bool,
    interactive: bool,
    allow_hardlinks: bool,
    accept_limitations: bool,
    force: bool,
    cross_filesystems: bool,
    remove_on_failure: bool,
    fingerprint: bool,
    as_json: bool,
    home: Home,
) -> None:
    """Overwrite files, verify them, and remove them."""
    request = destroy.ShredRequest(
        paths=paths,
        method=method,
        recursive=recursive,
        keep=keep,
        dry_run=dry_run,
        remove_on_failure=remove_on_failure,
        fingerprint=fingerprint,
        file_options=FileOptions(allow_hardlinks, accept_limitations, force, cross_filesystems),
        verify=verify,
    )
    if dry_run:
        planned = destroy.preflight(request)
        if as_json:
            emit_json({"dry_run": True, "files": [p.to_dict() for p in planned]})
            return
        for p in planned:
            notes = f" [{', '.join(p.limitations)}]" if p.limitations else ""
            click.echo(f"would destroy: {p.path} ({human_bytes(p.size)}, {p.filesystem}){notes}")
        click.echo(f"{len(planned)} file(s), method {method.name}; nothing was written (--dry-run)")
        return
    confirm = (lambda path: click.confirm(f"destroy {path}?", err=True)) if interactive else None
    with stop_on_signals() as (stop, received):
        results = destroy.shred_paths(request, progress=progress_sink(), stop=stop, confirm=confirm)
    if as_json:
        emit_json([r.to_dict() for r in results])
    else:
        for result in results:
            _render_destruction(result)
    _exit_for(results, received)


def _exit_for(results: tuple[destroy.Destruction, ...], received: list[int]) -> None:
    if received:
        raise Interrupted(
            "interrupted; what was written is recorded above",
            signum=received[0],
            remedy="run the same command again to finish",
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


def _expected_pattern(expect: str | None, key: str | None) -> PassPattern:
    if bool(expect) == bool(key):
        raise UsageError(
            "say what the target should hold",
            target="verify",
            remedy="give one of --expect PATTERN (hex, e.g. 00) or --key HEX (a random pass)",
        )
    text = (expect or key or "").strip().lower().replace(" ", "")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if expect is not None:
        if not raw:
            raise UsageError(f"{expect!r} is not hex bytes", target="--expect", remedy="e.g. 00")
        return PassPattern.fixed(raw)
    if len(raw) != KEY_BYTES:
        raise UsageError(
            f"a random pass key is {KEY_BYTES} bytes ({2 * KEY_BYTES} hex digits)",
            target="--key",
            remedy="copy it from the certificate's final pass",
        )
    return PassPattern.random(raw)


@cli.command("verify")
@click.argument("target", type=click.Path())
@click.option("--expect", default=None, help="The fixed pattern the target should hold (hex).")
@click.option("--key", default=None, help="The AES key (hex) of the final random pass.")
@click.option(
    "--mode", type=click.Choice(["nist", "quick", "full"]), default="nist", show_default=True
)
@click.option("--coverage", type=click.FloatRange(0.001, 100.0), default=None)
@json_option
def verify_cmd(
    target: str,
    expect: str | None,
    key: str | None,
    mode: str,
    coverage: float | None,
    as_json: bool,
) -> None:
    """Read a target back and check it holds what the final pass wrote."""
    pattern = _expected_pattern(expect, key)
    info = probe_target(target)
    plan = make_plan(info.size, mode, coverage=coverage, align=info.logical_block_size)
    report = verify_path(
        target, pattern, plan, expect_identity=info.identity, progress=progress_sink()
    )
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(f"{target}: {_verification_line(report)}")
    if report.status != "success":
        raise VerificationError(
            f"{len(report.mismatches)} sample(s) do not match",
            target=target,
            remedy="the data may not have been overwritten; wipe it again",
        )


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error a user can cause becomes one line and a documented exit code."""
    try:
        cli.main(args=argv, prog_name="expunge", standalone_mode=False)
    except ExpungeError as exc:
        click.echo(f"expunge: {exc.diagnostics()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("expunge: aborted", err=True)
        return 130
    except click.ClickException as exc:
        hint = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        click.echo(f"expunge: {exc.format_message()}{hint}", err=True)
        return 2 if isinstance(exc, click.UsageError) else exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        click.echo("expunge: interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
