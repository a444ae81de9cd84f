"""The ``expunge`` command group that every command module attaches to."""

from __future__ import annotations

import click

from expunge import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="expunge")
def cli() -> None:
    """Destroy confidential data and prove it."""
