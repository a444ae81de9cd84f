"""The certificate draft of a drive erased by its own command."""

from __future__ import annotations

from expunge.certificates import SubjectRecord, VerificationRecord
from expunge.certificates.drive_facts import DeviceCommandRecord
from expunge.core.clock import rfc3339
from expunge.shred.methods import Method
from expunge.verify.differs import ChangeReport
from expunge.workflows.certify.claims import device_sanitization
from expunge.workflows.certify.device_work import SanitizeWork
from expunge.workflows.certify.drafts.drives import drive_media, drive_subject
from expunge.workflows.certify.drafts.records import error_records, limitation_record
from expunge.workflows.certify.erase_work import DriveWork
from expunge.workflows.certify.station import CertificateDraft

BEFORE_AFTER = "before-after"
"""The verification mode suffix of a read-back that compares samples taken before and
after the erase: ``nist-before-after``, ``quick-before-after``, ``full-before-after``."""


def comparison_record(check: ChangeReport) -> VerificationRecord:
    """The before/after read-back as the certificate records it: a "mismatch" is a sample
    that kept its content, does not hold what the erase leaves, or could not be read."""
    return VerificationRecord(
        mode=f"{check.mode}-{BEFORE_AFTER}",
        pass_index=None,
        seed=check.seed or None,
        block_size=check.block_size,
        blocks_planned=check.samples_planned,
        blocks_checked=check.samples_read,
        bytes_checked=check.bytes_read,
        coverage=min(check.bytes_read / max(check.target_size, 1), 1.0),
        mismatches=check.mismatches,
        mismatching_offsets=check.unchanged_offsets[:1000],
        read_errors=check.unreadable,
        digest=check.digest_after,
        cache_bypass=check.cache_bypass,
    )


def drive_sanitize_draft(
    done: DriveWork, work: SanitizeWork, method: Method, verify_mode: str, stop_reason: str | None
) -> CertificateDraft:
    """The draft of the drive's own erase: the command and what the drive reported, the
    read-back, and Purge only where both agree (``claims.device_sanitization``)."""
    op = work.operation
    command = DeviceCommandRecord(
        protocol=op.protocol,
        operation=op.operation,
        command=op.command,
        started_at=rfc3339(work.started),
        finished_at=rfc3339(work.finished),
        completed=work.completed,
        report=work.report,
    )
    checks = (comparison_record(work.check),) if work.check is not None else ()
    subject = drive_subject(done, done.drive.size)
    record = SubjectRecord(subject, 0, (), checks, None, device_command=command)
    node = done.node
    return CertificateDraft(
        target=node,
        started=done.started,
        finished=done.finished,
        media=drive_media(done.drive),
        sanitization=device_sanitization(work, method, verify_mode),
        subjects=(record,),
        limitations=tuple(limitation_record(lim, node) for lim in work.limitations),
        errors=error_records(work.errors, node),
        interrupted_by=(stop_reason or "stopped") if work.interrupted else None,
        notes=f"the drive's own erase; identity confirmed as {done.token}",
    )
