"""``expunge cert``: show, verify and countersign certificates."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from expunge.certificates import (
    Person,
    countersign,
    load_private_key,
    render_text,
    verify_certificate_file,
    verify_envelope,
)
from expunge.certificates.storage import read_envelope, write_envelope
from expunge.commands.cert_attest import cert_attest
from expunge.commands.cert_pdf import write_pdf
from expunge.commands.cert_schema import cert_schema
from expunge.commands.frame import trust_store
from expunge.commands.options import (
    home_option,
    json_option,
    trust_auditor_option,
    trust_option,
)
from expunge.commands.render import emit_json
from expunge.core.clock import rfc3339
from expunge.core.config import Home, load_settings
from expunge.core.errors import EXIT_INTEGRITY, IntegrityError


@click.group()
def cert() -> None:
    """Show, verify, countersign and attest destruction certificates; print their schemas."""


@cert.command("verify")
@click.argument("certificates", nargs=-1, required=True, type=click.Path(path_type=Path))
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
    store = trust_store(home, trust_sources, trust_auditors)
    for problem in store.problems:
        click.echo(f"expunge: warning: {problem.path}: {problem.message}", err=True)
    checks = [
        (path, verify_certificate_file(path, store, require_countersign=require_countersign))
        for path in certificates
    ]
    if as_json:
        emit_json([{"path": str(path), **check.to_dict()} for path, check in checks])
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


@cert.command("show")
@click.argument("certificate", type=click.Path(path_type=Path))
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
    """A readable summary (or JSON, or a printable PDF) of a verified certificate."""
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
    if check.certificate is None:
        finding = check.reasons[0]
        raise IntegrityError(finding.message, target=str(certificate), remedy=finding.remedy)
    if as_json:
        emit_json(check.to_dict())
        return
    click.echo(render_text(check))


@cert.command("countersign")
@click.argument("certificate", type=click.Path(path_type=Path))
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key-passphrase-file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--note", default="", help="The auditor's note.")
@click.option("--name", default=None, help="The auditor's name (default: the current user).")
@click.option("--title", default="auditor")
@click.option("--organization", default="")
@trust_option
@home_option
def cert_countersign(
    certificate: Path,
    key_path: Path,
    key_passphrase_file: Path | None,
    note: str,
    name: str | None,
    title: str,
    organization: str,
    trust_sources: tuple[Path, ...],
    home: Home,
) -> None:
    """Add an auditor's validation signature to a certificate's envelope."""
    store = trust_store(home, trust_sources)
    verified = verify_envelope(read_envelope(certificate), store.station_keys)
    secret = key_passphrase_file.read_bytes().rstrip(b"\r\n") if key_passphrase_file else None
    auditor = load_private_key(key_path, secret)
    settings = load_settings(home, os.environ)
    validator = Person(name or settings.operator, title, organization, settings.location)
    envelope = countersign(
        verified,
        auditor,
        validator=validator,
        note=note,
        signed_at=rfc3339(datetime.now(UTC)),
    )
    write_envelope(certificate, envelope)
    click.echo(f"countersigned {certificate}")


cert.add_command(cert_attest)
cert.add_command(cert_schema)
