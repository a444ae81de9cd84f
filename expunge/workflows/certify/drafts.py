"""The one place what a destruction did becomes certificate records: passes, checks, subjects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from expunge.certificates import (
    ByteRange,
    DriveSubject,
    ErrorRecord,
    FileSubject,
    KeyErasure,
    LedgerAnchor,
    Limitation,
    Media,
    PassKind,
    PassRecord,
    SubjectRecord,
    VerificationRecord,
)
from expunge.core.clock import rfc3339
from expunge.shred.journal import JournalEvent
from expunge.shred.methods import Method
from expunge.shred.report import Limitation as WipeLimitation
from expunge.shred.report import PassResult, WipeReport
from expunge.verify import VerificationReport
from expunge.workflows.certify.claims import (
    flash_note,
    key_erasure_sanitization,
    luks_sanitization,
    sanitization,
)
from expunge.workflows.certify.outcomes import FileOutcome, FilesWork, KeyErasureOutcome, LuksWork
from expunge.workflows.certify.station import CertificateDraft

# LUKS read-back is counted in blocks of this size in the certificate.
LUKS_BLOCK = 4096


def pass_record(result: PassResult) -> PassRecord:
    """A pass as the certificate records it (positions count from 0 there)."""
    fixed = result.pattern.kind == "fixed"
    return PassRecord(
        index=result.index - 1,
        label=result.pattern.label,
        kind=PassKind.FIXED if fixed else PassKind.RANDOM,
        pattern_hex=result.pattern.pattern.hex() if fixed else None,
        key_hex=None if fixed or result.pattern.key is None else result.pattern.key.hex(),
        size=result.size,
        bytes_written=result.bytes_written,
        started_at=rfc3339(result.started),
        finished_at=rfc3339(result.ended),
        seconds=round(result.seconds, 6),
        throughput=round(result.throughput, 1),
        synced=result.synced,
        unwritten=tuple(ByteRange(r.start, r.end) for r in result.unwritten),
    )


def verification_record(report: VerificationReport, pass_index: int) -> VerificationRecord:
    """A read-back as the certificate records it."""
    return VerificationRecord(
        mode=report.mode,
        pass_index=pass_index,
        seed=report.seed or None,
        block_size=report.block_size,
        blocks_planned=report.blocks_planned,
        blocks_checked=report.blocks_checked,
        bytes_checked=report.bytes_checked,
        coverage=min(report.coverage, 1.0),
        mismatches=len(report.mismatches) + len(report.read_errors),
        mismatching_offsets=tuple(report.mismatches[:1000]),
        read_errors=len(report.read_errors),
        digest=report.digest or None,
        cache_bypass=report.cache_bypass,
    )


def subject_record(
    subject: FileSubject | DriveSubject,
    wipe: WipeReport,
    verifications: Sequence[tuple[VerificationReport, int]],
    removed: bool | None,
) -> SubjectRecord:
    """One subject: its passes (only the final keeps its key) and every read-back.

    ``verifications`` pairs each read-back with the (0-based) pass whose content it checked.
    """
    passes = tuple(pass_record(p) for p in wipe.passes)
    checks = tuple(verification_record(v, index) for v, index in verifications if v.mode != "none")
    return SubjectRecord(subject, wipe.planned_passes, passes, checks, removed)


def limitation_record(limitation: WipeLimitation, target: str | None) -> Limitation:
    """A limitation as the certificate records it."""
    return Limitation(limitation.code, limitation.text, limitation.remedy, target)


def error_records(errors: Sequence[str], target: str | None) -> tuple[ErrorRecord, ...]:
    """Free-text errors as certificate records."""
    return tuple(ErrorRecord("error", text, target) for text in errors)


def journal_notes(events: Sequence[JournalEvent], target: str) -> tuple[str, ...]:
    """A wipe journal's interruptions and resumes as certificate notes, in order.

    Offsets are where the pass in progress stood durably at that moment, so a reader can
    tell which bytes each run wrote.
    """
    return tuple(
        f"{target}: {e.kind} at pass {e.pass_index}, offset {e.offset} "
        f"({rfc3339(e.at)}{', ' + e.reason if e.reason else ''})"
        for e in events
    )


def file_subject(outcome: FileOutcome, document_id: str | None) -> FileSubject:
    """A destroyed file as a certificate subject."""
    ident = outcome.wipe.identity
    return FileSubject(
        path=ident.path,
        size=ident.size,
        inode=ident.inode,
        device=ident.device,
        filesystem=ident.filesystem,
        content_blake3=outcome.content_digest,
        document_id=document_id,
    )


def files_draft(
    work: FilesWork,
    method: Method,
    verify_mode: str,
    *,
    keep: bool,
    documents: Mapping[str, str],
    anchor: LedgerAnchor | None,
    notes: Sequence[str] = (),
    interrupted_by: str | None = None,
    erasure: KeyErasureOutcome | None = None,
) -> CertificateDraft:
    """The certificate draft of destroying files (and, with ``erasure``, a document key).

    ``documents`` names the document id of each path whose content was confirmed;
    ``interrupted_by`` is the operator's stop reason, if they stopped it.
    """
    subjects = []
    limitations: dict[tuple[str, str], Limitation] = {}
    errors: list[str] = list(work.errors)
    resumes: list[str] = []
    for outcome in work.files:
        wipe = outcome.wipe
        checks = [(v, i) for i, v in enumerate(outcome.pass_verifications)]
        if outcome.verification is not None:
            checks.append((outcome.verification, len(wipe.passes) - 1))
        removed: bool | None = None if keep else wipe.removed
        subject = file_subject(outcome, documents.get(outcome.path))
        subjects.append(subject_record(subject, wipe, checks, removed))
        for lim in wipe.limitations:
            limitations.setdefault((lim.code, outcome.path), limitation_record(lim, outcome.path))
        errors.extend(f"{outcome.path}: {e}" for e in wipe.errors)
        errors.extend(f"{outcome.path}: pass {p.index}: {p.error}" for p in wipe.passes if p.error)
        resumes.extend(journal_notes(outcome.journal_events, outcome.path))
    flash = any(code == "flash-media" for code, _ in limitations)
    claim = sanitization(method, verify_mode, flash_note(flash))
    if erasure is not None:
        subjects.append(key_erasure_record(erasure))
        overwritten = f"{method.name} ({method.describe_passes()})" if work.files else "none"
        claim = key_erasure_sanitization(erasure, overwritten)
    filesystems = sorted(
        {r.subject.filesystem for r in subjects if isinstance(r.subject, FileSubject)}
    ) or ["unknown"]
    all_notes = [*notes, *resumes]
    if work.skipped:
        all_notes.append(f"skipped at the operator's request: {', '.join(work.skipped)}")
    if interrupted_by is None and work.status == "interrupted":
        # Not stopped by the operator: a medium that stopped answering says so in its pass.
        gone = [p.error for f in work.files for p in f.wipe.passes if p.interrupted and p.error]
        interrupted_by = gone[0] if gone else "stopped"
    return CertificateDraft(
        target=work.target,
        started=work.started,
        finished=work.finished,
        media=Media("", "", "", f"{work.kind} on {', '.join(filesystems)}", "", ""),
        sanitization=claim,
        subjects=tuple(subjects),
        limitations=tuple(limitations.values()),
        errors=error_records(errors, work.target),
        interrupted_by=interrupted_by,
        destination="file removed" if not keep else "file kept (--keep)",
        notes="; ".join(all_notes),
        ledger_anchor=anchor,
    )


def key_erasure_record(erasure: KeyErasureOutcome) -> SubjectRecord:
    """The key store as a certificate subject: the key erasure and its key scan."""
    d = erasure.destroyed
    found = tuple(r.offset for r in d.residue)
    scanned = sum(_size(Path(p)) for p in d.files_scanned)
    check = VerificationRecord(
        mode="key-scan",
        pass_index=None,
        seed=None,
        block_size=1 << 20,
        blocks_planned=len(d.files_scanned),
        blocks_checked=len(d.files_scanned),
        bytes_checked=scanned,
        coverage=1.0,
        mismatches=len(found),
        mismatching_offsets=found[:1000],
        read_errors=0,
        digest=None,
        cache_bypass="none",
    )
    described = KeyErasure(
        "sealed-document", f"document key {erasure.key_id} of {erasure.doc_id}", d.verified
    )
    return SubjectRecord(erasure.keystore, 0, (), (check,), None, described)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


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
) -> CertificateDraft:
    """The certificate draft of crypto-erasing a LUKS container file (which is kept)."""
    layout = work.report.layout
    return CertificateDraft(
        target=subject.path,
        started=started,
        finished=finished,
        media=Media(
            "", "", "", f"LUKS{layout.version} container file on {subject.filesystem}", "", ""
        ),
        sanitization=luks_sanitization(work, "none"),
        subjects=(luks_record(work, subject),),
        limitations=luks_limitations(work, subject.path),
        interrupted_by=interrupted_by,
        destination="file kept (its keys are destroyed)",
        notes=f"LUKS{layout.version} volume {layout.uuid}",
    )
