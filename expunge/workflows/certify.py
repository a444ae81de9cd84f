"""Turning what a destruction did into a signed certificate, and keeping the station chain.

Layer 2: maps ``shred`` and ``verify`` reports into ``certificates`` types, signs them with
the station key, writes them under ``<home>/certificates``, and links each certificate to
the station's previous one by digest.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge import TOOL_NAME, __version__
from expunge.certificates import (
    Category,
    Certificate,
    Envelope,
    ErrorRecord,
    LedgerAnchor,
    Limitation,
    Media,
    MethodUsed,
    Person,
    Sanitization,
    ensure_key,
    new_certificate_id,
    sign_certificate,
    write_public_key,
)
from expunge.certificates.storage import write_envelope
from expunge.certificates.subjects import (
    ByteRange,
    DriveSubject,
    FileSubject,
    PassKind,
    PassRecord,
    SubjectRecord,
    VerificationRecord,
)
from expunge.core.atomic import write_atomic
from expunge.core.clock import rfc3339
from expunge.core.config import Home, StationSettings
from expunge.core.errors import IntegrityError, UsageError
from expunge.shred.journal import JournalEvent
from expunge.shred.methods import Method
from expunge.shred.patterns import PassPattern
from expunge.shred.report import Limitation as WipeLimitation
from expunge.shred.report import PassResult, WipeReport
from expunge.verify import VerificationReport

CERT_SUFFIX = ".cert.json"


@dataclass(frozen=True)
class Station:
    """Who signs: the home folder, the station's settings and its private key.

    The key is loaded (or created, on first use) only when the first certificate is
    signed, so a command refused before it writes anything leaves the home untouched.
    """

    home: Home
    settings: StationSettings
    passphrase: bytes | None = field(default=None, repr=False)

    @classmethod
    def open(cls, home: Home, settings: StationSettings, passphrase: bytes | None) -> Station:
        """A station for ``home``; nothing is read or written until a key is needed."""
        return cls(home, settings, passphrase)

    @cached_property
    def _loaded(self) -> tuple[Ed25519PrivateKey, bool]:
        self.home.ensure()
        key, created = ensure_key(self.home.key_path, self.passphrase)
        if created or not self.home.public_key_path.exists():
            write_public_key(self.home.public_key_path, key.public_key())
        return key, created

    def ready(self) -> None:
        """Load (or create) the key now: after the checks, before the first write.

        A wrong or missing passphrase must refuse while nothing is destroyed yet, never
        leave a destruction without its certificate.
        """
        self._loaded  # noqa: B018

    @property
    def key(self) -> Ed25519PrivateKey:
        """The station's signing key, created with its public half if absent."""
        return self._loaded[0]

    @property
    def key_created(self) -> bool:
        """Whether this run created the station key (the CLI says where)."""
        return "_loaded" in self.__dict__ and self._loaded[1]

    @property
    def person(self) -> Person:
        """NIST "person performing": the operator at this station."""
        s = self.settings
        return Person(s.operator, s.operator_title, s.organization, s.location)


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate as written: where, what it says, and its envelope."""

    path: Path
    certificate: Certificate
    envelope: Envelope

    @property
    def outcome(self) -> str:
        """The certificate's computed outcome."""
        return self.certificate.outcome.value


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


def sanitization(method: Method, verify_mode: str, media_note: str) -> Sanitization:
    """NIST "sanitization details" of an overwrite."""
    return Sanitization(
        category=Category.CLEAR,
        category_reason=(
            "overwrite of every user-addressable byte of the target with verification by "
            f"read-back (NIST SP 800-88 Clear){media_note}"
        ),
        method_used=MethodUsed.OVERWRITE,
        method_name=method.name,
        method_details=f"passes: {method.describe_passes()}; source: {method.source}",
        tool_name=TOOL_NAME,
        tool_version=__version__,
        verification_method=f"{verify_mode} read-back, BLAKE3 hash comparison"
        if verify_mode != "none"
        else "none",
        post_classification="unclassified (media may be reused)",
    )


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


@contextmanager
def _chain_lock(home: Home) -> Iterator[None]:
    """One certificate at a time extends the station chain (parallel drive wipes)."""
    lock_path = home.root / "certificates.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _previous_digest(home: Home) -> str | None:
    try:
        text = home.last_certificate_path.read_text().strip()
    except FileNotFoundError:
        return None
    return text or None


def _write_last(home: Home, digest: str) -> None:
    write_atomic(home.last_certificate_path, (digest + "\n").encode(), 0o644)


@dataclass(frozen=True)
class CertificateDraft:
    """Everything about one destruction except the station-level fields."""

    target: str
    started: datetime
    finished: datetime
    media: Media
    sanitization: Sanitization
    subjects: tuple[SubjectRecord, ...]
    limitations: tuple[Limitation, ...] = ()
    errors: tuple[ErrorRecord, ...] = ()
    interrupted_by: str | None = None
    destination: str = "reuse"
    notes: str = ""
    ledger_anchor: LedgerAnchor | None = None


def issue(
    draft: CertificateDraft, station: Station, cert_out: Path | None = None
) -> IssuedCertificate:
    """Sign ``draft`` as this station's next certificate and write it.

    Written to ``cert_out`` or ``<home>/certificates/<id>.cert.json``; the station chain
    (``last-certificate``) then names its digest.
    """
    home = station.home
    home.certificates.mkdir(parents=True, exist_ok=True)
    with _chain_lock(home):
        certificate = Certificate(
            certificate_id=new_certificate_id(draft.finished),
            target=draft.target,
            issued_at=rfc3339(datetime.now(draft.finished.tzinfo)),
            started_at=rfc3339(draft.started),
            finished_at=rfc3339(draft.finished),
            host=station.settings.host,
            person=station.person,
            media=draft.media,
            sanitization=draft.sanitization,
            subjects=draft.subjects,
            limitations=draft.limitations,
            errors=draft.errors,
            interrupted_by=draft.interrupted_by,
            destination=draft.destination,
            notes=draft.notes,
            previous_certificate_sha256=_previous_digest(home),
            ledger_anchor=draft.ledger_anchor,
        )
        envelope = sign_certificate(certificate, station.key)
        path = cert_out or home.certificates / f"{certificate.certificate_id}{CERT_SUFFIX}"
        write_envelope(path, envelope)
        _write_last(home, certificate.digest)
    return IssuedCertificate(path, certificate, envelope)


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
        if (isinstance(r.subject, FileSubject) and r.subject.path == wanted)
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
