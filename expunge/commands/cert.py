"""``expunge cert``: show, verify, countersign and list (the register) certificates."""

from __future__ import annotations

import gc
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from expunge.certificates import (
    CertificateCheck,
    Outcome,
    Person,
    countersign,
    keyid,
    load_private_key,
    render_text,
    verify_certificate_file,
    verify_envelope,
)
from expunge.certificates.register import list_certificates
from expunge.certificates.register_query import Query
from expunge.certificates.storage import claimed_certificate, read_envelope, write_envelope
from expunge.commands import completion
from expunge.commands.cert_attest import cert_attest
from expunge.commands.cert_pdf import write_pdf
from expunge.commands.cert_schema import cert_schema
from expunge.commands.frame import trust_store
from expunge.commands.json_output import emit_json
from expunge.commands.options import (
    home_option,
    json_option,
    trust_auditor_option,
    trust_option,
)
from expunge.commands.report_format import csv_text, period, table_lines
from expunge.core.clock import rfc3339
from expunge.core.config import Home, load_settings
from expunge.core.errors import EXIT_INTEGRITY, IntegrityError, RefusedError, UsageError


@click.group()
def cert() -> None:
    """Show, verify, countersign, list and attest destruction certificates; their schemas."""


@cert.command("verify")
@click.argument(
    "certificates",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path),
    shell_complete=completion.certificates,
)
@trust_option
@trust_auditor_option
@click.option("--require-countersign", is_flag=True, help="Also require an auditor's validation.")
@json_option
@home_option
def cert_verify(
    certificates: tuple[Path, ...],
    trust_sources: tuple[Path, ...],
    trust_auditors: tuple[Path, ...],
    require_countersign: bool,
    as_json: bool,
    home: Home,
) -> None:
    """Check signature (by a trusted station key), schema, outcome and countersignatures
    (by trusted auditor keys); exit 0 only if every one holds."""
    # A certificate of a 10,000-file tree parses into some 100,000 acyclic objects, kept
    # until the command exits: the cycle collector would only rescan them (a tenth of
    # the run).
    gc.disable()
    store = trust_store(home, trust_sources, trust_auditors)
    for problem in store.problems:
        click.echo(f"expunge: warning: {problem.path}: {problem.message}", err=True)
    checks = [
        (path, verify_certificate_file(path, store, require_countersign=require_countersign))
        for path in certificates
    ]
    if as_json:
        emit_json("cert-verify", [{"path": str(path), **check.to_dict()} for path, check in checks])
    else:
        for path, check in checks:
            if check.ok:
                who = (
                    f", countersigned by {', '.join(check.countersigners)}"
                    if check.countersigners
                    else ""
                )
                click.echo(f"OK: {path}: signed by {check.signer}{who}")
            for finding in check.reasons:
                click.echo(f"FAILED: {path}: {finding.reason}: {finding.message}; {finding.remedy}")
    worst = max(check.exit_code for _, check in checks)
    if worst:
        sys.exit(worst)


@cert.command("list")
@click.option("--since", metavar="DATE", default=None, help="Finished on or after (YYYY-MM-DD).")
@click.option("--until", metavar="DATE", default=None, help="Finished on or before (included).")
@click.option("--outcome", type=click.Choice([o.value for o in Outcome]), default=None)
@click.option("--target", default=None, help="The target as given (a glob: '/dev/sd*').")
@click.option("--serial", default=None, help="A drive's serial number.")
@click.option("--doc", default=None, help="A ledger document id.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the rows as CSV.")
@trust_option
@json_option
@home_option
def cert_list(
    since: str | None,
    until: str | None,
    outcome: str | None,
    target: str | None,
    serial: str | None,
    doc: str | None,
    as_csv: bool,
    trust_sources: tuple[Path, ...],
    as_json: bool,
    home: Home,
) -> None:
    """The register: certificates in <home>/certificates, oldest first, filtered.

    Searched through an index kept beside the files (rebuilt from them when missing or
    stale); each row listed is verified again (the SIGNATURE column).
    """
    if as_csv and as_json:
        raise UsageError("--csv and --json both given", target="cert list", remedy="give one")
    start, end = period(since, until)
    query = Query(start, end, outcome, target, serial, doc)
    rows = list_certificates(home.certificates, trust_store(home, trust_sources), query)
    if as_json:
        emit_json("cert-list", [r.to_dict() for r in rows])
    elif as_csv:
        click.echo(csv_text(rows), nl=False)
    elif rows:
        for line in table_lines(rows):
            click.echo(line)
    else:
        click.echo(f"no certificates match in {home.certificates}")


@cert.command("show")
@click.argument(
    "certificate", type=click.Path(path_type=Path), shell_complete=completion.certificates
)
@trust_option
@trust_auditor_option
@click.option("--pdf", "pdf_out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@json_option
@home_option
def cert_show(
    certificate: Path,
    trust_sources: tuple[Path, ...],
    trust_auditors: tuple[Path, ...],
    pdf_out: Path | None,
    as_json: bool,
    home: Home,
) -> None:
    """A readable summary (or JSON, or a printable PDF) of a certificate.

    A certificate whose signature does not verify under a trusted key is still shown
    (and printed), under an UNTRUSTED banner, and the command exits 7; a file holding no
    readable certificate is one line, exit 7.
    """
    store = trust_store(home, trust_sources, trust_auditors)
    if pdf_out is not None:
        printed = write_pdf(certificate, store, pdf_out)
        click.echo(f"wrote {pdf_out}")
        if printed.certificate is None:
            finding = printed.reasons[0]
            click.echo(
                f"expunge: {certificate}: {finding.message}; the PDF is marked so; "
                f"{finding.remedy}",
                err=True,
            )
            sys.exit(EXIT_INTEGRITY)
        return
    check = verify_certificate_file(certificate, store)
    untrusted = _untrusted(check, certificate)
    claimed = None
    if untrusted is not None:
        claimed = claimed_certificate(_read_bytes(certificate))
        if claimed is None:
            raise untrusted  # nothing readable to show
    if as_json:
        claimed_json = None if claimed is None else claimed.to_dict()
        emit_json("cert-show", {**check.to_dict(), "claimed_certificate": claimed_json})
    else:
        click.echo(render_text(check, claimed))
    if untrusted is not None:
        raise untrusted


def _untrusted(check: CertificateCheck, path: Path) -> IntegrityError | None:
    """The error a certificate that did not verify ends the command with (exit 7)."""
    if check.certificate is not None:
        return None
    finding = check.reasons[0]
    return IntegrityError(finding.message, target=str(path), remedy=finding.remedy)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


@cert.command("countersign")
@click.argument(
    "certificate", type=click.Path(path_type=Path), shell_complete=completion.certificates
)
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key-passphrase-file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--note", default="", help="The auditor's note.")
@click.option("--name", default=None, help="The auditor's name (default: the current user).")
@click.option("--title", default="auditor")
@click.option("--organization", default="")
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the countersigned certificate here.",
)
@click.option("--in-place", is_flag=True, help="Replace the certificate file itself.")
@click.option(
    "--outcome-acknowledged",
    is_flag=True,
    help="Validate a certificate whose outcome is not success (as a record of that outcome).",
)
@trust_option
@json_option
@home_option
def cert_countersign(
    certificate: Path,
    key_path: Path,
    key_passphrase_file: Path | None,
    note: str,
    name: str | None,
    title: str,
    organization: str,
    out: Path | None,
    in_place: bool,
    outcome_acknowledged: bool,
    trust_sources: tuple[Path, ...],
    as_json: bool,
    home: Home,
) -> None:
    """Add an auditor's validation signature to a certificate's envelope.

    The result goes to -o OUT, or replaces the file with --in-place. A certificate whose
    outcome is not success is refused (exit 3) unless --outcome-acknowledged.
    """
    destination = _countersign_destination(certificate, out, in_place)
    store = trust_store(home, trust_sources)
    verified = verify_envelope(read_envelope(certificate), store.station_keys)
    outcome = verified.certificate.outcome
    if outcome is not Outcome.SUCCESS:
        if not outcome_acknowledged:
            raise RefusedError(
                f"records outcome {outcome}: validating it would vouch for a destruction "
                "that did not succeed",
                target=str(certificate),
                remedy="repeat the destruction, or give --outcome-acknowledged to validate it "
                "as the record of that outcome",
            )
        note = f"outcome {outcome} acknowledged" + (f"; {note}" if note else "")
    secret = key_passphrase_file.read_bytes().rstrip(b"\r\n") if key_passphrase_file else None
    auditor = load_private_key(key_path, secret)
    settings = load_settings(home, os.environ)
    validator = Person(name or settings.operator, title, organization, settings.location)
    signed_at = rfc3339(datetime.now(UTC))
    envelope = countersign(verified, auditor, validator=validator, note=note, signed_at=signed_at)
    write_envelope(destination, envelope)
    if as_json:
        emit_json(
            "cert-countersign",
            {
                "certificate": str(certificate),
                "certificate_id": verified.certificate.certificate_id,
                "outcome": outcome.value,
                "written": str(destination),
                "auditor_keyid": keyid(auditor.public_key()),
                "validator": validator.to_dict(),
                "note": note,
                "signed_at": signed_at,
            },
        )
    else:
        click.echo(f"countersigned {certificate}: wrote {destination}")


def _countersign_destination(certificate: Path, out: Path | None, in_place: bool) -> Path:
    """Where the countersigned envelope goes: -o OUT, or the file itself with --in-place."""
    if out is not None and in_place:
        raise UsageError(
            "-o and --in-place both given",
            target="cert countersign",
            remedy="give -o OUT for a new file, or --in-place to replace the certificate",
        )
    if in_place:
        return certificate
    if out is None:
        raise UsageError(
            "say where the countersigned certificate goes",
            target="cert countersign",
            remedy="give -o OUT (a new file), or --in-place to replace the certificate",
        )
    if out.exists() and out.resolve() == certificate.resolve():
        raise UsageError(
            "-o names the certificate itself",
            target=str(out),
            remedy="give --in-place to replace the certificate, or another -o file",
        )
    return out


cert.add_command(cert_attest)
cert.add_command(cert_schema)
