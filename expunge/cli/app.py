"""The ``expunge`` command group, loading each command's module only when it is run.

Command modules attach themselves to ``cli`` when imported. Importing all of them for
every run would cost a short shred a quarter of its time in imports (the audit and
crypto-erase modules pull in much of the library), so the group imports only the module
of the command being run; ``--help`` lists them all from the table below.
"""

from __future__ import annotations

import importlib

import click

from expunge import __version__

COMMAND_MODULES: dict[str, str] = {
    "audit": "expunge.cli.audit_cmd",
    "cert": "expunge.cli.cert_cmd",
    "demo": "expunge.cli.demo_cmd",
    "destroy": "expunge.cli.destroy_cmd",
    "drive": "expunge.cli.drive_cmd",
    "key": "expunge.cli.key_cmd",
    "ledger": "expunge.cli.ledger_cmd",
    "methods": "expunge.cli.shred_cmd",
    "seal": "expunge.cli.seal_cmd",
    "shred": "expunge.cli.shred_cmd",
    "sweep": "expunge.cli.sweep_cmd",
    "unseal": "expunge.cli.seal_cmd",
    "verify": "expunge.cli.verify_cmd",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, loaded or not."""
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's module (which registers it), then look it up."""
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(COMMAND_MODULES[cmd_name])
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="expunge")
def cli() -> None:
    """Destroy confidential data and prove it."""
