"""The ``expunge`` command line: the group, the lazy command table, and the one error boundary.

Each command (or command group) lives in its own module under ``expunge.commands``.
Importing all of them for every run would cost a short shred a quarter of its time in
imports (the audit and crypto-erase workflows pull in much of the library), so the group
imports only the module of the command being run; ``--help`` lists them all from the
table below.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import resource
import sys

import click

from expunge import __version__
from expunge.commands import systemlog
from expunge.commands.json_output import emit_error
from expunge.commands.options import OutputRequest
from expunge.core.errors import EXIT_SIGINT, EXIT_USAGE, ExpungeError

# command name -> (module, attribute holding the click command)
COMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("expunge.commands.audit", "audit_command"),
    "cert": ("expunge.commands.cert", "cert"),
    "config": ("expunge.commands.config", "config"),
    "demo": ("expunge.commands.demo", "demo"),
    "destroy": ("expunge.commands.destroy", "destroy_command"),
    "drive": ("expunge.commands.drive", "drive"),
    "fill": ("expunge.commands.fill", "fill_command"),
    "key": ("expunge.commands.key", "key"),
    "ledger": ("expunge.commands.ledger", "ledger"),
    "man": ("expunge.commands.man", "man_command"),
    "methods": ("expunge.commands.shred", "methods"),
    "recover": ("expunge.commands.recover", "recover_command"),
    "report": ("expunge.commands.report", "report_command"),
    "seal": ("expunge.commands.seal", "seal"),
    "shred": ("expunge.commands.shred", "shred"),
    "station": ("expunge.commands.station", "station_command"),
    "sweep": ("expunge.commands.sweep", "sweep_command"),
    "unseal": ("expunge.commands.seal", "unseal"),
    "verify": ("expunge.commands.verify", "verify_cmd"),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, loaded or not."""
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's module, then hand out its command."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; an error that ends it is told to the system log on its way
        to the error boundary (``main``)."""
        try:
            return super().invoke(ctx)
        except ExpungeError as exc:
            systemlog.refusal(ctx, exc)
            raise


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="expunge")
@click.option(
    "--no-syslog",
    is_flag=True,
    help="Send nothing to the system log (journal or syslog) [config: [log] syslog].",
)
@click.pass_context
def cli(ctx: click.Context, no_syslog: bool) -> None:
    """Destroy confidential data and prove it."""
    ctx.meta[systemlog.DISABLED] = no_syslog


def loaded_cli() -> click.Group:
    """The group with every command imported, for what walks ``cli.commands`` rather than
    asking the group (click-man's ``write_man_pages``, documentation tools, tests)."""
    ctx = click.Context(cli, info_name="expunge")
    for name in COMMANDS:
        cli.get_command(ctx, name)
    return cli


def _more_descriptors() -> None:
    """Trees are walked through one open descriptor per level: allow as many as we may."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, 1 << 20), hard))


def _json_in(args: list[str]) -> bool:
    """Whether ``--json`` is among the options (before a ``--``), for a failure found
    before parsing reached it."""
    options = args[: args.index("--")] if "--" in args else args
    return "--json" in options


def _failure(message: str, exit_code: int, remedy: str | None = None) -> ExpungeError:
    """A failure click or a signal reported, in the shape of the ones expunge raises."""
    error = ExpungeError(message, remedy=remedy)
    error.exit_code = exit_code
    return error


def _caught(exc: BaseException) -> ExpungeError | int:
    """The failure ``exc`` stands for, or the exit code a ``SystemExit`` already chose."""
    if isinstance(exc, ExpungeError):
        return exc
    if isinstance(exc, click.UsageError):
        where = exc.ctx.command_path if exc.ctx is not None else "expunge"
        return _failure(exc.format_message(), EXIT_USAGE, f"see '{where} --help'")
    if isinstance(exc, click.ClickException):
        return _failure(exc.format_message(), exc.exit_code)
    if isinstance(exc, click.exceptions.Abort):
        return _failure("aborted", EXIT_SIGINT)
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 1
    return _failure("interrupted", EXIT_SIGINT)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error a user can cause becomes one line (under ``--json``, one
    JSON object) on stderr and a documented exit code.

    Without ``argv`` it runs as the program (the console script, ``python -m expunge``):
    the arguments are ``sys.argv``'s and the process ends when it returns.
    """
    if argv is not None:
        return _run(list(argv))
    try:
        return _run(sys.argv[1:])
    finally:
        # The process exits next. Its shutdown collections would trace every object the
        # imports made (about 5% of a one-file shred) for cycles the exit frees anyway;
        # frozen, they are left to it. Everything expunge writes is closed explicitly.
        gc.freeze()


def _run(args: list[str]) -> int:
    """``main``'s work: the command run inside the error boundary."""
    _more_descriptors()
    request = OutputRequest()
    try:
        cli.main(args=args, prog_name="expunge", standalone_mode=False, obj=request)
    except (ExpungeError, click.ClickException, click.exceptions.Abort, SystemExit) as exc:
        failure = _caught(exc)
    except KeyboardInterrupt as exc:
        failure = _caught(exc)
    else:
        return 0
    if isinstance(failure, int):
        return failure
    if request.json if request.json is not None else _json_in(args):
        emit_error(failure.message, failure.target, failure.remedy, failure.exit_code)
    else:
        click.echo(f"expunge: {failure.diagnostics()}", err=True)
    return failure.exit_code


if __name__ == "__main__":
    sys.exit(main())
