"""``expunge cert attest``: a certificate as an in-toto attestation for other tools."""

from __future__ import annotations

from pathlib import Path

import click

from expunge.certificates import load_private_key, read_envelope, verify_envelope
from expunge.certificates.attest import attest
from expunge.commands import completion
from expunge.commands.frame import passphrase, trust_store
from expunge.commands.options import home_option, trust_option
from expunge.core.atomic import write_atomic
from expunge.core.config import Home
from expunge.core.errors import TargetError


@click.command("attest")
@click.argument(
    "certificate",
    type=click.Path(dir_okay=False, path_type=Path),
    shell_complete=completion.certificates,
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the attestation (a DSSE envelope, JSON).",
)
@trust_option
@home_option
def cert_attest(
    certificate: Path, output: Path, trust_sources: tuple[Path, ...], home: Home
) -> None:
    """The certificate as an in-toto Statement v1 in a DSSE envelope, signed with the
    station key (the key that signed the certificate)."""
    store = trust_store(home, trust_sources)
    verified = verify_envelope(read_envelope(certificate), store.station_keys)
    envelope = attest(verified, load_private_key(home.key_path, passphrase(home)))
    try:
        write_atomic(output, envelope.to_json())
    except OSError as exc:
        raise TargetError(f"cannot write: {exc.strerror}", target=str(output)) from None
    click.echo(f"wrote {output}")
