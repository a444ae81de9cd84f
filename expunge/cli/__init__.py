"""The command line: parse, confirm, render. The library does the work.

Each command group lives in its own module and attaches to ``app.cli``, which imports
a module only when its command runs.
"""

from __future__ import annotations

import sys

import click

from expunge.cli.app import cli
from expunge.errors import ExpungeError


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
