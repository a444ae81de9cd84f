"""``expunge cert schema``: the JSON Schemas of certificates and configuration files."""

from __future__ import annotations

import click

from expunge.certificates.schemas import SCHEMA_NAMES, schema_text


@click.command("schema")
@click.argument("name", type=click.Choice(SCHEMA_NAMES), default="certificate")
def cert_schema(name: str) -> None:
    """Print a JSON Schema: the certificate payload (default), policy.toml or config.toml."""
    click.echo(schema_text(name), nl=False)
