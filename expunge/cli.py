"""The ``expunge`` command line: the group, the lazy command table, and the one error boundary.

Each command (or command group) lives in its own module under ``expunge.commands``.
Importing all of them for every run would cost a short shred a quarter of its time in
imports (the audit and crypto-erase workflows pull in much of the library), so the group
imports only the module of the command being run; ``--help`` lists them all from the
table below.
"""

from __future__ import annotations

import contextlib
import importlib
import resource
import sys

import click

from expunge import __version__
from expunge.commands import systemlog
from expunge.core.errors import ExpungeError

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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error a user can cause becomes one line and a documented exit code."""
    _more_descriptors()
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
