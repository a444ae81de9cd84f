"""``expunge demo``: the whole workflow on a sample document, on the embedded defaults."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from expunge.commands.frame import checked_certificate, key_notice, open_station
from expunge.commands.options import json_option
from expunge.commands.render import human_bytes, output_format, verification_line
from expunge.core.config import Home, resolve_home
from expunge.core.errors import IntegrityError
from expunge.shred.methods import choose_method
from expunge.workflows import destroy, records

SAMPLE = (
    "CONFIDENTIAL - Board minutes, 2026-Q4. Acquisition target: Northwind Ltd. "
    "Offer ceiling EUR 41.5M. Do not distribute.\n"
)


@dataclass(frozen=True)
class DemoRun:
    """What the demo did, step by step, for the text lines or ``--json``."""

    home: Path
    throwaway: bool
    sample: str
    size: int
    doc_id: str
    registered_seq: int
    destruction: destroy.Destruction
    certificate: Path
    destroyed_seq: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the home, the document, its destruction (as ``shred`` reports one)
        and what the certificate and the ledger say of it."""
        return {
            "home": str(self.home),
            "throwaway_home": self.throwaway,
            "sample": self.sample,
            "size": self.size,
            "doc_id": self.doc_id,
            "registered_seq": self.registered_seq,
            "destruction": self.destruction.to_dict(),
            "certificate": str(self.certificate),
            "destroyed_seq": self.destroyed_seq,
        }


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
@json_option
def demo(size: int, home_dir: str | None, as_json: bool) -> None:
    """Create a sample confidential file, register it, destroy it, and prove it."""
    given = home_dir or os.environ.get("EXPUNGE_HOME")
    if given:
        home = Home(resolve_home(given, os.environ)).check()
    else:
        home = Home(Path(tempfile.mkdtemp(prefix="expunge-demo-home-")))
    run = _run_demo(home, size, throwaway=not given)
    output_format(as_json, "demo").report(run, _demo_lines)


def _run_demo(home: Home, size: int, *, throwaway: bool) -> DemoRun:
    """Register a sample document, destroy it, and check the certificate and the ledger."""
    station = open_station(home)
    actor = station.settings.operator
    with tempfile.TemporaryDirectory(prefix="expunge-demo-") as folder:
        sample = Path(folder) / "board-minutes-2026-q4.txt"
        sample.write_bytes((SAMPLE.encode() * (size // len(SAMPLE) + 1))[:size])
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
        request = destroy.ShredRequest(
            paths=(str(sample),), method=choose_method(None, None, False)
        )
        with records.station_ledger(home, actor, station) as ledger:
            (result,) = destroy.shred_paths(request, station, ledger=ledger)
        key_notice(station)
        if sample.exists():
            raise IntegrityError("the sample document is still there", target=str(sample))
    if result.certificate is None:
        raise IntegrityError("no certificate was issued", target=str(sample))
    path = result.certificate.path
    check = checked_certificate(path, home, (), False)
    if not check.ok:
        raise IntegrityError(check.reasons[0].message, target=str(path))
    recorded = result.ledger.recorded if result.ledger else ()
    if not recorded:
        raise IntegrityError("the ledger did not record the destruction", target=doc_id)
    return DemoRun(
        home.root,
        throwaway,
        str(sample),
        size,
        doc_id,
        entry.seq,
        result,
        path,
        recorded[0].seq,
    )


def _demo_lines(run: DemoRun) -> Iterator[str]:
    """The demo as steps for people, and the commands an auditor would run next."""
    if run.throwaway:
        yield f"demo home: {run.home} (a throwaway station; --home chooses another)"
    yield f"1. created a sample confidential document: {run.sample} ({human_bytes(run.size)})"
    yield f"   registered it in the ledger as {run.doc_id} (confidential, seq {run.registered_seq})"
    outcome = run.destruction.files[0]
    wipe = outcome.wipe
    yield (
        f"2. overwrote it with method '{wipe.method}' "
        f"({', '.join(p.pattern.label for p in wipe.passes)}), synced to the disk"
    )
    if outcome.verification is not None:
        yield f"3. read it back from the disk: {verification_line(outcome.verification)}"
    yield "4. renamed it to noise and removed it: gone"
    yield f"5. signed a certificate (Ed25519, DSSE): {run.certificate}"
    yield "6. verified it with the station's public key: VALID"
    yield (
        f"7. recorded it in the ledger: {run.doc_id} destroyed at seq {run.destroyed_seq}, "
        "citing the certificate"
    )
    yield ""
    yield "An auditor checks it offline with the public key:"
    at = f" --home {run.home}" if run.throwaway else ""
    path = run.certificate
    yield f"  expunge cert verify {path} --trust {Home(run.home).public_key_path}"
    yield f"  expunge cert show {path} --pdf certificate.pdf{at}"
    yield f"  expunge ledger show {run.doc_id}{at}"
    yield f"  expunge audit{at}"
