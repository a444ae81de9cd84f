"""The certificate of one drive wipe: its draft (an overwrite, or a LUKS crypto-erase), then
signed, and the ledger's copies on the medium marked destroyed."""

from __future__ import annotations

from dataclasses import replace

from expunge.certificates import Limitation, Media, Sanitization, SubjectRecord
from expunge.certificates.subjects import DriveSubject
from expunge.core.clock import utc_now
from expunge.core.errors import ExpungeError, TargetError
from expunge.core.outcome import Outcome
from expunge.core.progress import StopRequest
from expunge.drives import Drive, media_type
from expunge.shred.report import WipeReport
from expunge.workflows import certify, records
from expunge.workflows.drive_wipe.model import DriveRequest, DriveWipe


def overwrite_draft(
    done: DriveWipe, wipe: WipeReport, request: DriveRequest, stop: StopRequest | None
) -> certify.CertificateDraft:
    """The draft of an overwrite (NIST Clear): every pass and read-back, and the journal's
    account of a resumed wipe."""
    checks = [(v, i) for i, v in enumerate(done.pass_verifications)]
    if done.verification is not None:
        checks.append((done.verification, len(wipe.passes) - 1))
    subject = _subject(done, wipe.identity.size)
    interrupted_by = None
    if done.status == Outcome.INTERRUPTED:
        # A pulled drive leaves its error on the pass it interrupted.
        gone = [p.error for p in wipe.passes if p.interrupted and p.error]
        interrupted_by = _stop_reason(stop) or (gone[0] if gone else "stopped")
    notes = [
        f"whole drive; identity confirmed as {done.token}",
        *certify.journal_notes(done.journal_events, done.node),
    ]
    return _draft(
        done,
        wipe,
        sanitization=certify.sanitization(request.method, request.verify.mode, _media_note(wipe)),
        subject=certify.subject_record(subject, wipe, checks, None),
        limitations=(),
        interrupted_by=interrupted_by,
        notes="; ".join(notes),
    )


def luks_draft(
    done: DriveWipe,
    wipe: WipeReport,
    work: certify.LuksWork,
    request: DriveRequest,
    stop: StopRequest | None,
) -> certify.CertificateDraft:
    """The draft of a LUKS crypto-erase of the drive (NIST Purge), with the overwrite after
    it (``--then``) when there was one."""
    interrupted_by = None
    if done.status == Outcome.INTERRUPTED:
        interrupted_by = _stop_reason(stop) or "stopped"
    return _draft(
        done,
        wipe,
        sanitization=certify.luks_sanitization(work, request.verify.mode),
        subject=certify.luks_record(work, _subject(done, wipe.identity.size)),
        limitations=certify.luks_limitations(work, done.node),
        interrupted_by=interrupted_by,
        notes=f"LUKS crypto-erase of the drive; identity confirmed as {done.token}",
    )


def issue(done: DriveWipe, draft: certify.CertificateDraft, station: certify.Station) -> DriveWipe:
    """Sign the certificate of ``done``, and mark the ledger's copies on it destroyed.

    A failure to write the certificate is the drive's problem. With a ledger, the
    certificate records the ledger's head, and a success marks every copy recorded on
    this medium (by identity token) destroyed, citing the certificate.
    """
    store = records.existing_ledger(station.home)
    try:
        if store is not None:
            draft = replace(draft, ledger_anchor=records.current_anchor(store))
        issued = certify.issue(draft, station)
        documents: tuple[str, ...] = ()
        if store is not None and issued.outcome == Outcome.SUCCESS:
            documents = records.record_medium_destroyed(
                store, done.token, issued, actor=station.settings.operator, now=utc_now()
            )
    except ExpungeError as exc:
        return replace(done, problem=exc)
    except OSError as exc:
        problem = TargetError(
            f"the certificate could not be written: {exc.strerror}",
            target=str(station.home.certificates),
            remedy="the drive was wiped; free space or fix permissions and wipe it again",
        )
        return replace(done, problem=problem)
    finally:
        if store is not None:
            store.close()
    return replace(done, certificate=issued, ledger_documents=documents)


def _draft(
    done: DriveWipe,
    wipe: WipeReport,
    *,
    sanitization: Sanitization,
    subject: SubjectRecord,
    limitations: tuple[Limitation, ...],
    interrupted_by: str | None,
    notes: str,
) -> certify.CertificateDraft:
    """What every drive certificate says: the drive, its times, the wipe's limitations
    (after ``limitations`` of the method) and errors."""
    node = done.node
    errors = [*wipe.errors, *(f"pass {p.index}: {p.error}" for p in wipe.passes if p.error)]
    return certify.CertificateDraft(
        target=node,
        started=done.started,
        finished=done.finished,
        media=_media(done.drive),
        sanitization=sanitization,
        subjects=(subject,),
        limitations=(
            *limitations,
            *(certify.limitation_record(lim, node) for lim in wipe.limitations),
        ),
        errors=certify.error_records(errors, node),
        interrupted_by=interrupted_by,
        notes=notes,
    )


def _stop_reason(stop: StopRequest | None) -> str | None:
    return stop.reason if stop is not None and stop.is_set() else None


def _media_note(wipe: WipeReport) -> str:
    """What the NIST category reason adds about a medium an overwrite cannot fully reach."""
    codes = {lim.code for lim in wipe.limitations}
    if "flash-media" in codes:
        return "; the medium is flash: remapped and over-provisioned blocks were not addressed"
    if "virtual-disk" in codes:
        return "; a virtual disk: layers beneath it were not addressed"
    return ""


def _subject(done: DriveWipe, device_size: int) -> DriveSubject:
    drive = done.drive
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
    )


def _media(drive: Drive) -> Media:
    return Media(
        manufacturer=drive.vendor or "",
        model=drive.model or "",
        serial=drive.serial or "",
        media_type=media_type(drive),
        source="",
        classification="",
    )
