"""The certificate draft of a free-space fill: free space as the subject, one record per
pass, and the read-back of every fill file as one verification."""

from __future__ import annotations

import blake3

from expunge import TOOL_NAME, __version__
from expunge.certificates import (
    Category,
    Media,
    MethodUsed,
    Sanitization,
    SubjectRecord,
    VerificationRecord,
)
from expunge.certificates.drive_facts import FreeSpaceSubject
from expunge.verify import VerifyMode
from expunge.workflows.certify.drafts.records import error_records, limitation_record, pass_record
from expunge.workflows.certify.space_work import FillWork
from expunge.workflows.certify.station import CertificateDraft


def fill_verification(work: FillWork) -> VerificationRecord | None:
    """The fill files' read-backs as one record over their concatenation.

    Every file was planned with the same seed and block size; offsets are positions in
    the concatenation of the fill files; the digest is BLAKE3 over each file's report
    digest in file order.
    """
    if not work.checks:
        return None
    reports = [r for _, r in work.checks]
    first = reports[0]
    digest = blake3.blake3()
    for report in reports:
        digest.update(bytes.fromhex(report.digest) if report.digest else bytes(32))
    mismatches = [base + offset for base, r in work.checks for offset in r.mismatches]
    checked = sum(r.bytes_checked for r in reports)
    return VerificationRecord(
        mode=first.mode.value,
        pass_index=len(work.passes) - 1,
        seed=first.seed or None,
        block_size=first.block_size,
        blocks_planned=sum(r.blocks_planned for r in reports),
        blocks_checked=sum(r.blocks_checked for r in reports),
        bytes_checked=checked,
        coverage=min(checked / max(work.bytes_filled, 1), 1.0),
        mismatches=len(mismatches) + sum(len(r.read_errors) for r in reports),
        mismatching_offsets=tuple(mismatches[:1000]),
        read_errors=sum(len(r.read_errors) for r in reports),
        digest=digest.hexdigest(),
        cache_bypass=first.cache_bypass,
    )


def fill_sanitization(work: FillWork, verify_mode: str) -> Sanitization:
    """NIST "sanitization details" of a free-space fill: Clear, of the free space only."""
    method = work.method
    return Sanitization(
        category=Category.CLEAR,
        category_reason=(
            f"overwrite of the free space of {work.mountpoint} ({work.bytes_filled} bytes, "
            "every block free when the fill ran) with verification by read-back; files in "
            "use, their slack and the filesystem's journal were not addressed (NIST SP "
            "800-88 Clear of the free space only, not of the medium)"
        ),
        method_used=MethodUsed.OVERWRITE,
        method_name=method.name,
        method_details=f"passes: {method.describe_passes()}; source: {method.source}; each "
        "fill file's random stream is AES-256-CTR under BLAKE3(key=the pass key, "
        "'expunge fill file N')",
        tool_name=TOOL_NAME,
        tool_version=__version__,
        verification_method=f"{verify_mode} read-back of every fill file, BLAKE3 comparison"
        if verify_mode != VerifyMode.NONE
        else "none",
        post_classification="unclassified (the filesystem stays in use)",
    )


def fill_draft(work: FillWork, verify_mode: str, stop_reason: str | None) -> CertificateDraft:
    """The draft of a free-space fill: "free space of MOUNT: N bytes overwritten"."""
    subject = FreeSpaceSubject(
        mountpoint=work.mountpoint,
        filesystem=work.kind,
        device=work.device,
        source=work.source,
        size=work.bytes_filled,
        free_before=work.free_before,
        directory_entries=work.names_refilled,
    )
    checks = tuple(v for v in [fill_verification(work)] if v is not None)
    passes = tuple(pass_record(p) for p in work.passes)
    record = SubjectRecord(subject, work.planned_passes, passes, checks, work.removed)
    target = work.mountpoint
    return CertificateDraft(
        target=target,
        started=work.started,
        finished=work.finished,
        media=Media("", "", "", f"free space of a {work.kind} filesystem", "", ""),
        sanitization=fill_sanitization(work, verify_mode),
        subjects=(record,),
        limitations=tuple(limitation_record(lim, target) for lim in work.limitations),
        errors=error_records(work.errors, target),
        interrupted_by=(stop_reason or "stopped") if work.interrupted else None,
        destination="filesystem kept in use",
        notes="; ".join((subject.describe(), *work.events)),
    )
