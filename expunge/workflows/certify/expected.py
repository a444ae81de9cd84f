"""What a certificate says a target holds now: the final pass of its subject."""

from __future__ import annotations

import os

from expunge.certificates import Certificate
from expunge.certificates.drive_facts import DriveSubject
from expunge.certificates.subjects import FileSubject, SubjectRecord
from expunge.core.errors import IntegrityError, RefusedError, UsageError
from expunge.drives import Drive
from expunge.shred.patterns import PassPattern


def final_pattern_for(certificate: Certificate, target: str) -> tuple[PassPattern, SubjectRecord]:
    """What ``target`` should hold according to ``certificate``: its subject's final pass.

    The subject is the one whose path or node is ``target`` (or the only one). A final
    random pass is recomputable because the certificate records its key.
    """
    wanted = os.path.abspath(target)
    records = certificate.subjects
    matches = [
        r
        for r in records
        if (isinstance(r.subject, FileSubject) and r.subject.raw_path == wanted)
        or (isinstance(r.subject, DriveSubject) and r.subject.node in (target, wanted))
    ]
    if not matches and len(records) == 1:
        matches = list(records)
    if len(matches) != 1:
        raise UsageError(
            "the certificate does not name this target",
            target=target,
            remedy=f"it covers: {', '.join(r.subject.name for r in records[:5])}",
        )
    record = matches[0]
    final = record.final_pass
    if final is None:
        raise IntegrityError(
            "the certificate records no pass over this target",
            target=target,
            remedy="nothing was written; there is nothing to verify",
        )
    if final.pattern_hex is not None:
        return PassPattern.fixed(bytes.fromhex(final.pattern_hex)), record
    if final.key_hex is None:
        raise IntegrityError("the final random pass has no recorded key", target=target)
    return PassPattern.random(bytes.fromhex(final.key_hex)), record


def drive_differences(subject: DriveSubject, drive: Drive) -> tuple[str, ...]:
    """How the drive present now differs from the one a certificate describes.

    Serial, WWN, model and size must agree; for a drive without a serial (a virtual disk)
    the identity token (``diskseq:N``) must too, since a re-attached image gets a new one.
    """
    found = []
    pairs = (
        ("serial", subject.serial, drive.serial),
        ("WWN", subject.wwn, drive.wwn),
        ("model", subject.model, drive.model or ""),
        ("size", subject.size, drive.size),
    )
    for name, recorded, present in pairs:
        if recorded != present:
            found.append(f"{name} {present or 'none'}, the certificate's {recorded or 'none'}")
    if not subject.serial and subject.identity_token != drive.identity_token:
        found.append(f"identity {drive.identity_token}, the certificate's {subject.identity_token}")
    return tuple(found)


def check_same_drive(subject: DriveSubject, drive: Drive, target: str) -> None:
    """Refuse (exit 3) to verify a drive other than the certificate's subject."""
    differences = drive_differences(subject, drive)
    if differences:
        raise RefusedError(
            f"is not the drive the certificate describes ({'; '.join(differences)});"
            " nothing was read",
            target=target,
            remedy=f"verify {subject.name} with this certificate, or give this drive's own",
        )
