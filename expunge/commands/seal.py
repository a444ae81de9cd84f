"""``expunge seal`` and ``expunge unseal``: documents that die with one key (crypto-erase)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

from expunge.commands.destruction_text import destruction_lines
from expunge.commands.frame import open_station, station_job
from expunge.commands.json_output import emit_json
from expunge.commands.options import cert_out_option, home_option, json_option, technique_options
from expunge.commands.render import output_format
from expunge.core.clock import utc_now
from expunge.core.config import Home
from expunge.workflows import cryptoerase, destroy, records


@click.command("seal")
@click.argument("path")
@click.option("--doc", "doc_id", default=None, help="Document id (registered, or to register).")
@click.option(
    "--classification",
    default=None,
    help="Level to register an unregistered file with (required then).",
)
@technique_options
@cert_out_option
@json_option
@home_option
def seal(
    path: str,
    doc_id: str | None,
    classification: str | None,
    technique: destroy.Technique,
    cert_out: Path | None,
    as_json: bool,
    home: Home,
) -> None:
    """Encrypt PATH to PATH.sealed under a fresh key, then shred the plaintext.

    An unregistered file is registered first (--classification is then required). The
    document key is kept, wrapped under the station key-encryption key, in the home's key
    store; 'expunge destroy DOC' erases it, and with it every copy of PATH.sealed. The
    plaintext is shredded with its own certificate (method and verification as for shred).
    """
    station = open_station(home)
    with records.create_ledger(home, station) as store:
        link = records.LedgerLink(store, records.load_policy(home), station.settings.operator)
        with station_job(home, station) as job:
            result = destroy.seal_document(
                path,
                job.station,
                link,
                technique,
                doc_id=doc_id,
                classification=classification,
                progress=job.progress,
                stop=job.stop,
                cert_out=cert_out,
            )
    output_format(as_json, "seal").report(result, _sealing_lines)
    job.conclude(result.failure)


def _sealing_lines(result: destroy.Sealing) -> Iterator[str]:
    sealed = result.sealed
    yield (
        f"sealed {sealed.doc_id} ({sealed.classification}): {sealed.sealed_path} "
        f"(key {sealed.info.key_id}, seq {sealed.seal_seq})"
    )
    yield from destruction_lines(result.destruction)


@click.command("unseal")
@click.argument("sealed_path", metavar="SEALED")
@click.option("-o", "--output", "out", required=True, help="Where to write the plaintext.")
@json_option
@home_option
def unseal(sealed_path: str, out: str, as_json: bool, home: Home) -> None:
    """Decrypt SEALED to OUT while its key exists; OUT appears only when all of it checks.

    OUT is recorded in the ledger as a plaintext copy of the document: 'expunge destroy
    DOC' overwrites it, and its certificate can then no longer claim Purge. Fails (exit 7)
    when the key was destroyed, naming the date and certificate, and when the file was
    altered; OUT is then not left behind.
    """
    station = open_station(home)
    with records.require_ledger(home, station) as store:
        result = cryptoerase.unseal_document(
            home, store, sealed_path, out, actor=station.settings.operator, now=utc_now()
        )
    if as_json:
        emit_json("unseal", {"sealed_path": sealed_path, **result.to_dict()})
        return
    click.echo(
        f"unsealed {result.doc_id}: {result.out_path} ({result.info.plaintext_bytes} bytes; "
        f"recorded as a plaintext copy, seq {result.copy_seq})"
    )
