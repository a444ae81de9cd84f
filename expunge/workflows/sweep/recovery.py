"""Destructions an earlier, killed sweep certified but did not record."""

from __future__ import annotations

from collections.abc import Sequence

from expunge.certificates import (
    CertificateError,
    Envelope,
    FileSubject,
    Outcome,
    keyid,
    load_public_key,
    verify_envelope,
)
from expunge.core.config import Home
from expunge.core.errors import ExpungeError
from expunge.ledger.state import DocumentState
from expunge.workflows import certify

Certified = tuple[certify.IssuedCertificate, tuple[str, ...]]


def certified_documents(home: Home) -> dict[str, list[Certified]]:
    """Document id -> the success certificates signed by this station that name it, with
    the paths each names for it (newest first): what recovery after a kill looks in."""
    try:
        public = load_public_key(home.public_key_path.read_bytes(), str(home.public_key_path))
        folder = sorted(home.certificates.glob("*.cert.json"), reverse=True)
    except (OSError, ExpungeError):
        return {}
    keys = {keyid(public): public}
    index: dict[str, list[Certified]] = {}
    for path in folder:  # certificate ids sort by time: newest first
        try:
            envelope = Envelope.from_json(path.read_bytes())
            certificate = verify_envelope(envelope, keys).certificate
        except (OSError, CertificateError):
            continue
        if certificate.outcome is not Outcome.SUCCESS:
            continue
        named: dict[str, list[str]] = {}
        for record in certificate.subjects:
            subject = record.subject
            if isinstance(subject, FileSubject) and subject.document_id:
                named.setdefault(subject.document_id, []).append(subject.raw_path)
        issued = certify.IssuedCertificate(path, certificate, envelope)
        for doc_id, paths in named.items():
            index.setdefault(doc_id, []).append((issued, tuple(paths)))
    return index


def unrecorded(certified: Sequence[Certified], state: DocumentState) -> Certified | None:
    """A certificate of ``certified`` naming ``state``'s document only at outstanding
    locations, which no ``destroy`` event cites yet."""
    cited = {d.certificate_id for d in state.destructions}
    outstanding = {loc.path for loc in state.locations if loc.outstanding and loc.path}
    for issued, paths in certified:
        if issued.certificate.certificate_id not in cited and set(paths) <= outstanding:
            return issued, paths
    return None
