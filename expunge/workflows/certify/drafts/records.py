"""Certificate records of what an overwrite did: passes, read-backs, subjects, notes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from expunge.certificates import (
    ByteRange,
    ErrorRecord,
    FileSubject,
    Limitation,
    PassKind,
    PassRecord,
    SubjectRecord,
    VerificationRecord,
)
from expunge.core import paths
from expunge.core.clock import rfc3339
from expunge.shred.journal import JournalEvent
from expunge.shred.report import Limitation as WipeLimitation
from expunge.shred.report import PassResult, WipeReport
from expunge.verify import VerificationReport, VerifyMode

if TYPE_CHECKING:
    from expunge.certificates import DriveSubject


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
    checks = tuple(
        verification_record(v, index) for v, index in verifications if v.mode != VerifyMode.NONE
    )
    return SubjectRecord(subject, wipe.planned_passes, passes, checks, removed)


def limitation_record(limitation: WipeLimitation, target: str | None) -> Limitation:
    """A limitation as the certificate records it."""
    where = None if target is None else paths.readable(target)
    return Limitation(limitation.code, paths.readable(limitation.text), limitation.remedy, where)


def error_records(errors: Sequence[str], target: str | None) -> tuple[ErrorRecord, ...]:
    """Free-text errors as certificate records."""
    where = None if target is None else paths.readable(target)
    return tuple(ErrorRecord("error", paths.readable(text), where) for text in errors)


def journal_notes(events: Sequence[JournalEvent], target: str) -> tuple[str, ...]:
    """A wipe journal's interruptions and resumes as certificate notes, in order.

    Offsets are where the pass in progress stood durably at that moment, so a reader can
    tell which bytes each run wrote; passes are numbered from 0, as the certificate's own.
    """
    return tuple(
        f"{target}: {e.kind} at pass {e.pass_index - 1}, offset {e.offset} "
        f"({rfc3339(e.at)}{', ' + e.reason if e.reason else ''})"
        for e in events
    )
