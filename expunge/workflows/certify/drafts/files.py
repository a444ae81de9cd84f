"""The certificate draft of destroying files, and of a document key erased with them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from expunge.certificates import (
    FileSubject,
    LedgerAnchor,
    Limitation,
    Media,
    SubjectRecord,
    VerificationRecord,
)
from expunge.shred.methods import Method
from expunge.workflows.certify.claims import flash_note, key_erasure_sanitization, sanitization
from expunge.workflows.certify.drafts.records import (
    error_records,
    journal_notes,
    limitation_record,
    subject_record,
)
from expunge.workflows.certify.outcomes import FileOutcome, FilesWork
from expunge.workflows.certify.station import CertificateDraft

if TYPE_CHECKING:
    from expunge.workflows.certify.erase_work import KeyErasureOutcome


def file_subject(outcome: FileOutcome, document_id: str | None) -> FileSubject:
    """A destroyed file as a certificate subject."""
    ident = outcome.wipe.identity
    return FileSubject.named(
        ident.path,
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
    classification: str = "",
) -> CertificateDraft:
    """The certificate draft of destroying files (and, with ``erasure``, a document key).

    ``documents`` names the document id of each path whose content was confirmed;
    ``interrupted_by`` is the operator's stop reason, if they stopped it;
    ``classification`` that of the documents destroyed, as the ledger records it.
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
        for lim in erasure.limitations:
            store = erasure.keystore.path
            limitations.setdefault((lim.code, store), limitation_record(lim, store))
        overwritten = f"{method.name} ({method.describe_passes()})" if work.files else "none"
        claim = key_erasure_sanitization(erasure, overwritten)
    filesystems = sorted(
        {r.subject.filesystem for r in subjects if isinstance(r.subject, FileSubject)}
    ) or ["unknown"]
    all_notes = [*notes, *resumes]
    if work.skipped:
        all_notes.append(f"skipped at the operator's request: {', '.join(work.skipped)}")
    if work.left:
        all_notes.append(f"left alone, changed since checked: {'; '.join(work.left)}")
    if interrupted_by is None and work.status == "interrupted":
        # Not stopped by the operator: a medium that stopped answering says so in its pass.
        gone = [p.error for f in work.files for p in f.wipe.passes if p.interrupted and p.error]
        interrupted_by = gone[0] if gone else "stopped"
    return CertificateDraft(
        target=work.target,
        started=work.started,
        finished=work.finished,
        media=Media("", "", "", f"{work.kind} on {', '.join(filesystems)}", "", classification),
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
    """The key store as a certificate subject: the key erasure, the slot read back from the
    medium, and the key-scan of every key-store file."""
    # Imported here: destroying files without a sealed document's key erases none.
    from expunge.certificates import KeyErasure

    d = erasure.destroyed
    slot = VerificationRecord(
        mode="key-slot-read-back",
        pass_index=None,
        seed=None,
        block_size=d.slot.length,
        blocks_planned=1,
        blocks_checked=1,
        bytes_checked=d.slot.length,
        coverage=min(d.slot.length / max(erasure.keystore.size, 1), 1.0),
        mismatches=0 if d.slot.matches else 1,
        mismatching_offsets=() if d.slot.matches else (d.slot.offset,),
        read_errors=0,
        digest=None,
        cache_bypass=d.slot.cache_bypass,
    )
    found = tuple(r.offset for r in d.residue)
    scan = VerificationRecord(
        mode="key-scan",
        pass_index=None,
        seed=None,
        block_size=1 << 20,
        blocks_planned=len(d.files_scanned),
        blocks_checked=len(d.files_scanned),
        bytes_checked=d.bytes_scanned,
        coverage=1.0,
        mismatches=len(found),
        mismatching_offsets=found[:1000],
        read_errors=0,
        digest=None,
        cache_bypass="none",
    )
    described = KeyErasure(
        "sealed-document",
        f"document key {erasure.key_id} of {erasure.doc_id}",
        d.verified,
        doc_id=erasure.doc_id,
        key_id=erasure.key_id,
    )
    # An erase finished after an interruption knows its slot, no longer the key's bytes.
    checks = (slot, scan) if d.needles else (slot,)
    return SubjectRecord(erasure.keystore, 0, (), checks, None, described)
