"""``expunge verify``: read a target back now, against a pattern, key or certificate."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import click

from expunge.certificates import DriveSubject, SubjectRecord
from expunge.commands import completion
from expunge.commands.frame import checked_certificate, progress_sink
from expunge.commands.json_output import emit_json
from expunge.commands.options import home_option, json_option, trust_option
from expunge.commands.render import verification_line
from expunge.core.config import Home
from expunge.core.errors import IntegrityError, RefusedError, UsageError, VerificationError
from expunge.drives import find_drive
from expunge.shred.patterns import KEY_BYTES, PassPattern
from expunge.verify import VerifyMode, make_plan, probe_target, verify_path
from expunge.workflows import certify


def _expected_pattern(expect: str | None, key: str | None) -> PassPattern:
    if expect is not None and key is not None:
        raise UsageError(
            "--expect and --key both given: a target holds one or the other",
            target="verify",
            remedy="give --expect PATTERN for a fixed pass, or --key HEX for a random one",
        )
    if not expect and not key:
        raise UsageError(
            "say what the target should hold",
            target="verify",
            remedy="give one of --expect PATTERN (hex, e.g. 00) or --key HEX (a random pass)",
        )
    text = (expect or key or "").strip().lower().replace(" ", "")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if expect is not None:
        if not raw:
            raise UsageError(f"{expect!r} is not hex bytes", target="--expect", remedy="e.g. 00")
        return PassPattern.fixed(raw)
    if len(raw) != KEY_BYTES:
        raise UsageError(
            f"a random pass key is {KEY_BYTES} bytes ({2 * KEY_BYTES} hex digits)",
            target="--key",
            remedy="copy it from the certificate's final pass",
        )
    return PassPattern.random(raw)


def _same_medium(record: SubjectRecord, target: str) -> None:
    """A drive certificate verifies only the drive it names: identity first, before a read."""
    if not isinstance(record.subject, DriveSubject):
        return
    try:
        is_device = stat.S_ISBLK(os.stat(target).st_mode)
    except OSError:
        return  # probe_target says what is wrong with the target
    if not is_device:
        raise RefusedError(
            "is not a block device, and the certificate describes a drive",
            target=target,
            remedy=f"verify the drive itself ({record.subject.name})",
        )
    certify.check_same_drive(record.subject, find_drive(target), target)


@click.command("verify")
@click.argument("target", type=click.Path())
@click.option(
    "--cert",
    "cert_path",
    type=click.Path(path_type=Path),
    default=None,
    shell_complete=completion.certificates,
    help="Expect the final pass recorded in this certificate.",
)
@click.option("--expect", default=None, help="The fixed pattern the target should hold (hex).")
@click.option("--key", default=None, help="The AES key (hex) of the final random pass.")
@click.option(
    "--mode",
    type=click.Choice([m.value for m in VerifyMode if m is not VerifyMode.NONE]),
    default=VerifyMode.NIST.value,
    show_default=True,
)
@click.option("--coverage", type=click.FloatRange(0.001, 100.0), default=None)
@trust_option
@json_option
@home_option
def verify_cmd(
    target: str,
    cert_path: Path | None,
    expect: str | None,
    key: str | None,
    mode: str,
    coverage: float | None,
    trust_sources: tuple[Path, ...],
    as_json: bool,
    home: Home,
) -> None:
    """Read a target back now and check it holds what the final pass wrote.

    With --cert, a fresh sample is checked against the certificate's final pass; a drive
    must first be the one it names (serial, WWN, model, size; diskseq for a virtual disk),
    else the command refuses (exit 3) without reading it.
    """
    if cert_path is not None:
        if expect or key:
            raise UsageError(
                "--cert already says what to expect",
                target="--expect/--key",
                remedy="give --cert, or --expect/--key, not both",
            )
        check = checked_certificate(cert_path, home, trust_sources, False)
        if check.certificate is None:
            finding = check.reasons[0]
            raise IntegrityError(finding.message, target=str(cert_path), remedy=finding.remedy)
        pattern, record = certify.final_pattern_for(check.certificate, target)
        _same_medium(record, target)
    else:
        pattern = _expected_pattern(expect, key)
    info = probe_target(target)
    if cert_path is not None and info.size != record.subject.size:
        raise VerificationError(
            f"is {info.size} bytes, the certificate's subject was {record.subject.size}",
            target=target,
            remedy="this is not the medium the certificate describes",
        )
    plan = make_plan(info.size, mode, coverage=coverage, align=info.logical_block_size)
    report = verify_path(
        target, pattern, plan, expect_identity=info.identity, progress=progress_sink()
    )
    if as_json:
        emit_json("verify", report.to_dict())
    else:
        click.echo(f"{target}: {verification_line(report)}")
    if report.status != "success":
        raise VerificationError(
            f"{len(report.mismatches)} sample(s) do not match",
            target=target,
            remedy="the data may not have been overwritten; wipe it again",
        )
