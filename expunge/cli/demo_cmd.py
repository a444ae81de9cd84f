"""``expunge demo``: the whole workflow on a sample document, on the embedded defaults."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from expunge import destroy
from expunge.cli.app import cli
from expunge.cli.common import (
    checked_certificate,
    home_option,
    human_bytes,
    key_notice,
    open_station,
    verification_line,
)
from expunge.config import Home
from expunge.errors import IntegrityError
from expunge.shred.methods import choose_method

SAMPLE = (
    "CONFIDENTIAL - Board minutes, 2026-Q4. Acquisition target: Northwind Ltd. "
    "Offer ceiling EUR 41.5M. Do not distribute.\n"
)


@cli.command()
@click.option("--size", default=32 << 20, show_default=True, help="Bytes of sample document.")
@home_option
def demo(size: int, home: Home) -> None:
    """Create a sample confidential file, destroy it, and prove it with a certificate."""
    station = open_station(home)
    with tempfile.TemporaryDirectory(prefix="expunge-demo-") as folder:
        sample = Path(folder) / "board-minutes-2026-q4.txt"
        sample.write_bytes((SAMPLE.encode() * (size // len(SAMPLE) + 1))[:size])
        click.echo(f"1. created a sample confidential document: {sample} ({human_bytes(size)})")
        request = destroy.ShredRequest(
            paths=(str(sample),), method=choose_method(None, None, False)
        )
        (result,) = destroy.shred_paths(request, station)
        key_notice(station)
        outcome = result.files[0]
        wipe = outcome.wipe
        click.echo(
            f"2. overwrote it with method '{wipe.method}' "
            f"({', '.join(p.pattern.label for p in wipe.passes)}), synced to the disk"
        )
        if outcome.verification is not None:
            click.echo(f"3. read it back from the disk: {verification_line(outcome.verification)}")
        state = "gone" if not sample.exists() else "STILL THERE"
        click.echo(f"4. renamed it to noise and removed it: {state}")
        if result.certificate is None:
            raise IntegrityError("no certificate was issued", target=str(sample))
        path = result.certificate.path
        check = checked_certificate(path, home, (), False)
        click.echo(f"5. signed a certificate (Ed25519, DSSE): {path}")
        click.echo(
            f"6. verified it with the station's public key: {'VALID' if check.ok else 'INVALID'}"
        )
        if not check.ok:
            raise IntegrityError(check.reasons[0].message, target=str(path))
    click.echo("")
    click.echo("An auditor checks it offline with the public key:")
    click.echo(f"  expunge cert verify {path} --trust {home.public_key_path}")
    click.echo(f"  expunge cert show {path} --pdf certificate.pdf")
