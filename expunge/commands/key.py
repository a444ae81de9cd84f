"""``expunge key``: the station signing key."""

from __future__ import annotations

from pathlib import Path

import click

from expunge.certificates import (
    init_key,
    key_info,
    load_private_key,
    public_key_pem,
    write_public_key,
)
from expunge.commands.frame import passphrase
from expunge.commands.json_output import emit_json
from expunge.commands.options import home_option, json_option
from expunge.core.config import Home


@click.group()
def key() -> None:
    """The station's Ed25519 signing key."""


@key.command("init")
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Encrypt the private key with the passphrase in this file.",
)
@json_option
@home_option
def key_init(passphrase_file: Path | None, as_json: bool, home: Home) -> None:
    """Create the station key (refuses to replace an existing one)."""
    home.ensure()
    info = init_key(home.key_path, passphrase(home, passphrase_file))
    write_public_key(
        home.public_key_path,
        load_private_key(home.key_path, passphrase(home, passphrase_file)).public_key(),
    )
    if as_json:
        emit_json("key", info.to_dict())
        return
    click.echo(f"created {info.path} (fingerprint {info.fingerprint})")
    click.echo(f"public key for auditors: {home.public_key_path}")


@key.command("show")
@json_option
@home_option
def key_show(as_json: bool, home: Home) -> None:
    """Fingerprint (certificate keyid), securesystemslib keyid, OpenSSH fingerprint, path and
    creation time of the station key."""
    info = key_info(home.key_path, passphrase(home))
    if as_json:
        emit_json("key", info.to_dict())
        return
    click.echo(f"fingerprint:            {info.fingerprint}")
    click.echo(f"securesystemslib keyid: {info.securesystemslib_keyid}")
    click.echo(f"OpenSSH fingerprint:    {info.openssh_fingerprint}")
    click.echo(f"path:                   {info.path}")
    click.echo(f"created:                {info.created}")
    click.echo(f"encrypted:              {'yes' if info.encrypted else 'no'}")


@key.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@home_option
def key_export(output: Path | None, home: Home) -> None:
    """The public key (PEM), for auditors' trust stores."""
    public = load_private_key(home.key_path, passphrase(home)).public_key()
    if output is None:
        click.echo(public_key_pem(public).decode(), nl=False)
        return
    write_public_key(output, public)
    click.echo(f"wrote {output}")
