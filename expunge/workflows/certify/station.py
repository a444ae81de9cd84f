"""Who signs and where certificates go: the station, its key, its chain of certificates."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge.certificates import (
    Certificate,
    Envelope,
    ErrorRecord,
    LedgerAnchor,
    Limitation,
    Media,
    Person,
    Sanitization,
    ensure_key,
    new_certificate_id,
    sha256_hex,
    sign_certificate,
    write_public_key,
)
from expunge.certificates.register import CERT_SUFFIX, index_written
from expunge.certificates.storage import write_envelope
from expunge.certificates.subjects import SubjectRecord
from expunge.core import paths
from expunge.core.atomic import write_atomic
from expunge.core.clock import rfc3339
from expunge.core.config import Home, StationSettings
from expunge.core.outcome import Outcome
from expunge.workflows.certify.fields import JobFields, with_fields


@dataclass(frozen=True, eq=False)  # a signing identity in use: compared by identity
class Station:
    """Who signs: the home folder, the station's settings and its private key, and what the
    operator said about this job (``job``: operator, asset tag, media source...).

    The key is loaded (or created, on first use) only when the first certificate is
    signed, so a command refused before it writes anything leaves the home untouched.
    """

    home: Home
    settings: StationSettings
    passphrase: bytes | None = field(default=None, repr=False)
    job: JobFields = field(default_factory=JobFields)
    on_issue: Callable[[IssuedCertificate], None] | None = field(
        default=None, repr=False, compare=False
    )
    """Told of each certificate once it is written (the CLI's system log); it may be
    called from several wiping threads at once."""

    @classmethod
    def open(
        cls,
        home: Home,
        settings: StationSettings,
        passphrase: bytes | None,
        job: JobFields | None = None,
        on_issue: Callable[[IssuedCertificate], None] | None = None,
    ) -> Station:
        """A station for ``home``; nothing is read or written until a key is needed."""
        return cls(home, settings, passphrase, job or JobFields(), on_issue)

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
        """NIST "person performing": the operator at this station (or of this job)."""
        s = self.settings
        name = self.job.operator or s.operator
        return Person(name, s.operator_title, s.organization, s.location, s.phone or None)


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate as written: where, what it says, and its envelope."""

    path: Path
    certificate: Certificate
    envelope: Envelope

    @property
    def outcome(self) -> Outcome:
        """The certificate's computed outcome."""
        return self.certificate.outcome


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
    draft: CertificateDraft,
    station: Station,
    cert_out: Path | None = None,
    *,
    before_write: Callable[[Path], None] | None = None,
) -> IssuedCertificate:
    """Sign ``draft`` as this station's next certificate and write it.

    The job's and the station's fields are filled in and the post-sanitization
    classification made honest (``fields.with_fields``). Written to ``cert_out`` or
    ``<home>/certificates/<id>.cert.json``; the station chain
    (``last-certificate``) then names its digest, and the register's index of the
    certificates folder lists it. ``before_write(path)`` is told where
    right before the file is written (a run log notes it, in case the run dies there).
    """
    home = station.home
    home.certificates.mkdir(parents=True, exist_ok=True)
    with _chain_lock(home):
        drafted = Certificate(
            certificate_id=new_certificate_id(draft.finished),
            target=paths.readable(draft.target),
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
            notes=paths.readable(draft.notes),
            previous_certificate_sha256=_previous_digest(home),
            ledger_anchor=draft.ledger_anchor,
        )
        certificate = with_fields(drafted, station.job, station.settings)
        envelope = sign_certificate(certificate, station.key)
        path = cert_out or home.certificates / f"{certificate.certificate_id}{CERT_SUFFIX}"
        if before_write is not None:
            before_write(path)
        write_envelope(path, envelope)
        # The payload is the canonical form: its hash is the digest, without a second
        # serialization of a certificate that may list 10,000 files.
        _write_last(home, sha256_hex(envelope.payload))
        if path.parent == home.certificates:
            index_written(path, certificate)
    issued = IssuedCertificate(path, certificate, envelope)
    if station.on_issue is not None:
        station.on_issue(issued)
    return issued
