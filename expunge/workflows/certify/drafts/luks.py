"""The certificate records of a LUKS crypto-erase, and the draft for a container file."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from expunge.certificates import (
    DriveSubject,
    FileSubject,
    KeyErasure,
    Limitation,
    Media,
    SubjectRecord,
    VerificationRecord,
)
from expunge.shred.report import Limitation as WipeLimitation
from expunge.workflows.certify.claims import luks_sanitization
from expunge.workflows.certify.drafts.records import (
    limitation_record,
    pass_record,
    verification_record,
)
from expunge.workflows.certify.erase_work import LuksWork
from expunge.workflows.certify.station import CertificateDraft

# LUKS read-back is counted in blocks of this size in the certificate.
LUKS_BLOCK = 4096


def luks_record(work: LuksWork, subject: FileSubject | DriveSubject) -> SubjectRecord:
    """A LUKS volume as a certificate subject: the key erasure, its read-back, the passes."""
    report = work.report
    passes = [replace(pass_record(p), index=i) for i, p in enumerate(work.passes)]
    if len(passes) > 1:  # only the final pass keeps its key (the erase's seed is below)
        passes[0] = replace(passes[0], key_hex=None)
    v = report.verification
    seed = report.verification_seed
    found = sorted({r.start for r in v.mismatches} | set(v.magic_found))
    checks = [
        VerificationRecord(
            mode="luks-read-back",
            pass_index=0,
            seed=seed.hex() if seed else None,
            block_size=LUKS_BLOCK,
            blocks_planned=-(-v.checked.length // LUKS_BLOCK) + len(v.magic_offsets),
            blocks_checked=-(-v.bytes_checked // LUKS_BLOCK) + len(v.magic_offsets),
            bytes_checked=v.bytes_checked,
            coverage=min(v.bytes_checked / max(report.layout.target_size, 1), 1.0),
            mismatches=len(v.mismatches) + len(v.magic_found) + len(v.errors),
            mismatching_offsets=tuple(found[:1000]),
            read_errors=len(v.errors),
            digest=None,
            cache_bypass=v.cache_bypass,
        )
    ]
    if work.then_check is not None:
        checks.append(verification_record(work.then_check, len(passes) - 1))
    layout = report.layout
    slots = ", ".join(k.slot for k in layout.keyslots if k.active) or "none"
    erasure = KeyErasure(
        "luks",
        f"LUKS{layout.version} {layout.uuid}: keyslots {slots}",
        report.status == "success",
    )
    return SubjectRecord(
        subject, 1 + work.then_planned, tuple(passes), tuple(checks), None, erasure
    )


def luks_limitations(work: LuksWork, target: str) -> tuple[Limitation, ...]:
    """The erase's limitations (the header-backup note) for the certificate."""
    return tuple(limitation_record(lim, target) for lim in work.report.limitations)


def luks_container_draft(
    work: LuksWork,
    subject: FileSubject,
    *,
    started: datetime,
    finished: datetime,
    interrupted_by: str | None,
    medium: tuple[WipeLimitation, ...] = (),
) -> CertificateDraft:
    """The certificate draft of crypto-erasing a LUKS container file (which is kept);
    ``medium`` names why the old header may survive on the container's medium."""
    layout = work.report.layout
    return CertificateDraft(
        target=subject.path,
        started=started,
        finished=finished,
        media=Media(
            "", "", "", f"LUKS{layout.version} container file on {subject.filesystem}", "", ""
        ),
        sanitization=luks_sanitization(work, "none", medium),
        subjects=(luks_record(work, subject),),
        limitations=(
            *luks_limitations(work, subject.path),
            *(limitation_record(lim, subject.path) for lim in medium),
        ),
        interrupted_by=interrupted_by,
        destination="file kept (its keys are destroyed)",
        notes=f"LUKS{layout.version} volume {layout.uuid}",
    )
