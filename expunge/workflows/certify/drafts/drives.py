"""The certificate drafts of whole-drive wipes: an overwrite (Clear), or a LUKS
crypto-erase (Purge) with the overwrite after it."""

from __future__ import annotations

from expunge.certificates import DriveSubject, Limitation, Media, Sanitization, SubjectRecord
from expunge.core.outcome import Outcome
from expunge.drives import Drive, media_type
from expunge.shred.methods import Method
from expunge.shred.report import WipeReport
from expunge.workflows.certify.claims import FLASH_NOTE, luks_sanitization, sanitization
from expunge.workflows.certify.drafts.facts import health_record, hidden_record
from expunge.workflows.certify.drafts.luks import luks_limitations, luks_record
from expunge.workflows.certify.drafts.records import (
    error_records,
    journal_notes,
    limitation_record,
    subject_record,
)
from expunge.workflows.certify.erase_work import DriveWork, LuksWork
from expunge.workflows.certify.station import CertificateDraft


def drive_overwrite_draft(
    done: DriveWork, wipe: WipeReport, method: Method, verify_mode: str, stop_reason: str | None
) -> CertificateDraft:
    """The draft of an overwrite (NIST Clear): every pass and read-back, and the journal's
    account of a resumed wipe."""
    checks = [(v, i) for i, v in enumerate(done.pass_verifications)]
    if done.verification is not None:
        checks.append((done.verification, len(wipe.passes) - 1))
    subject = drive_subject(done, wipe.identity.size)
    interrupted_by = None
    if done.written_outcome == Outcome.INTERRUPTED:
        # A pulled drive leaves its error on the pass it interrupted.
        gone = [p.error for p in wipe.passes if p.interrupted and p.error]
        interrupted_by = stop_reason or (gone[0] if gone else "stopped")
    notes = [
        f"whole drive; identity confirmed as {done.token}",
        *journal_notes(done.journal_events, done.node),
    ]
    return _draft(
        done,
        wipe,
        sanitization=sanitization(method, verify_mode, _media_note(wipe)),
        subject=subject_record(subject, wipe, checks, None),
        limitations=(),
        interrupted_by=interrupted_by,
        notes="; ".join(notes),
    )


def drive_luks_draft(
    done: DriveWork,
    wipe: WipeReport,
    work: LuksWork,
    verify_mode: str,
    stop_reason: str | None,
) -> CertificateDraft:
    """The draft of a LUKS crypto-erase of the drive (NIST Purge), with the overwrite after
    it (``--then``) when there was one."""
    interrupted_by = None
    if done.written_outcome == Outcome.INTERRUPTED:
        interrupted_by = stop_reason or "stopped"
    return _draft(
        done,
        wipe,
        sanitization=luks_sanitization(work, verify_mode),
        subject=luks_record(work, drive_subject(done, wipe.identity.size)),
        limitations=luks_limitations(work, done.node),
        interrupted_by=interrupted_by,
        notes=f"LUKS crypto-erase of the drive; identity confirmed as {done.token}",
    )


def _draft(
    done: DriveWork,
    wipe: WipeReport,
    *,
    sanitization: Sanitization,
    subject: SubjectRecord,
    limitations: tuple[Limitation, ...],
    interrupted_by: str | None,
    notes: str,
) -> CertificateDraft:
    """What every drive certificate says: the drive, its times, the wipe's limitations
    (after ``limitations`` of the method) and errors."""
    node = done.node
    errors = [*wipe.errors, *(f"pass {p.index}: {p.error}" for p in wipe.passes if p.error)]
    return CertificateDraft(
        target=node,
        started=done.started,
        finished=done.finished,
        media=drive_media(done.drive),
        sanitization=sanitization,
        subjects=(subject,),
        limitations=(
            *limitations,
            *(limitation_record(lim, node) for lim in wipe.limitations),
        ),
        errors=error_records(errors, node),
        interrupted_by=interrupted_by,
        notes=notes,
    )


def _media_note(wipe: WipeReport) -> str:
    """What the NIST category reason adds about a medium an overwrite cannot fully reach."""
    codes = {lim.code for lim in wipe.limitations}
    if "flash-media" in codes:
        return FLASH_NOTE
    if "virtual-disk" in codes:
        return "; a virtual disk: layers beneath it were not addressed"
    return ""


def drive_subject(done: DriveWork, device_size: int) -> DriveSubject:
    """The drive as a certificate subject, with what it reported of itself."""
    drive = done.drive
    profile = drive.profile
    return DriveSubject(
        node=drive.node,
        vendor=drive.vendor or "",
        model=drive.model or "",
        serial=drive.serial,
        wwn=drive.wwn,
        size=device_size,
        logical_block_size=drive.logical_block_size,
        bus=drive.bus,
        removable=drive.removable,
        rotational=drive.rotational,
        identity_token=done.token,
        firmware=profile.firmware if profile else None,
        health=health_record(profile.health) if profile and profile.health else None,
        hidden_areas=hidden_record(profile.hidden) if profile and profile.hidden else None,
    )


def drive_media(drive: Drive) -> Media:
    """NIST "media information" of a drive."""
    return Media(
        manufacturer=drive.vendor or "",
        model=drive.model or "",
        serial=drive.serial or "",
        media_type=media_type(drive),
        source="",
        classification="",
    )
