"""``expunge demo``: the whole workflow on a sample document, on the embedded defaults."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click

from expunge.commands.frame import checked_certificate, key_notice, open_station
from expunge.commands.render import human_bytes, verification_line
from expunge.core.config import Home, resolve_home
from expunge.core.errors import IntegrityError
from expunge.shred.methods import choose_method
from expunge.workflows import destroy, records

SAMPLE = (
    "CONFIDENTIAL - Board minutes, 2026-Q4. Acquisition target: Northwind Ltd. "
    "Offer ceiling EUR 41.5M. Do not distribute.\n"
)


@click.command()
@click.option("--size", default=32 << 20, show_default=True, help="Bytes of sample document.")
@click.option(
    "--home",
    "home_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Run the demo in this home [env: EXPUNGE_HOME]; default: a new throwaway home, so "
    "the station's real ledger never holds demo documents.",
)
def demo(size: int, home_dir: str | None) -> None:
    """Create a sample confidential file, register it, destroy it, and prove it."""
    given = home_dir or os.environ.get("EXPUNGE_HOME")
    if given:
        home = Home(resolve_home(given, os.environ)).check()
    else:
        home = Home(Path(tempfile.mkdtemp(prefix="expunge-demo-home-")))
        click.echo(f"demo home: {home.root} (a throwaway station; --home chooses another)")
    station = open_station(home)
    actor = station.settings.operator
    with tempfile.TemporaryDirectory(prefix="expunge-demo-") as folder:
        sample = Path(folder) / "board-minutes-2026-q4.txt"
        sample.write_bytes((SAMPLE.encode() * (size // len(SAMPLE) + 1))[:size])
        click.echo(f"1. created a sample confidential document: {sample} ({human_bytes(size)})")
        now = datetime.now(UTC)
        with records.create_ledger(home, station) as store:
            entry = records.register_document(
                store,
                records.read_content(str(sample)),
                classification="confidential",
                policy=records.load_policy(home),
                title="Board minutes 2026-Q4 (demo)",
                custodian=actor,
                doc_id=None,
                retain_until=None,
                actor=actor,
                now=now,
            )
        doc_id = str(entry.event.doc_id)
        click.echo(f"   registered it in the ledger as {doc_id} (confidential, seq {entry.seq})")
        request = destroy.ShredRequest(
            paths=(str(sample),), method=choose_method(None, None, False)
        )
        with records.station_ledger(home, actor, station) as ledger:
            (result,) = destroy.shred_paths(request, station, ledger=ledger)
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
        recorded = result.ledger.recorded if result.ledger else ()
        if not recorded:
            raise IntegrityError("the ledger did not record the destruction", target=doc_id)
        click.echo(
            f"7. recorded it in the ledger: {doc_id} destroyed at seq {recorded[0].seq}, "
            "citing the certificate"
        )
    click.echo("")
    click.echo("An auditor checks it offline with the public key:")
    at = "" if given else f" --home {home.root}"
    click.echo(f"  expunge cert verify {path} --trust {home.public_key_path}")
    click.echo(f"  expunge cert show {path} --pdf certificate.pdf{at}")
    click.echo(f"  expunge ledger show {doc_id}{at}")
    click.echo(f"  expunge audit{at}")
