"""The verdict on each certificate a ledger cites, each distinct one verified once."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from expunge.certificates import (
    Certificate,
    CertificateError,
    DriveSubject,
    Envelope,
    FileCertificateFacts,
    FileSubject,
    Outcome,
    SubjectRecord,
    file_certificate_facts,
    read_signed_certificate,
    verify_certificate_signature,
)
from expunge.core.errors import ExpungeError
from expunge.ledger.entries import Head

# The largest certificate file an audit reads: `shred -r` of a 10,000-file tree issues
# about 17 MB (some 1.7 KB per file), so this admits trees of some 40,000 files.
MAX_CERTIFICATE_FILE = 64 << 20
# Verdicts a verifier keeps, for certificates met again: a directory's or a drive's
# certificate is cited by the destroy events of its documents, one after another. Bounded,
# so that an audit of a million entries does not keep a quarter of a million verdicts.
CACHED_VERDICTS = 4096
# How certificates from before KeyErasure had doc_id/key_id name a sealed document's key.
_LEGACY_KEY_REFERENCE = re.compile(r"document key (.+) of ([^ ]+)")


def _erasure_of(record: SubjectRecord) -> tuple[str | None, str | None] | None:
    """(document id, key id) whose key ``record`` says was destroyed; ``None`` when it
    records no destroyed key."""
    erasure = record.key_erasure
    if erasure is None or not erasure.destroyed:
        return None
    if erasure.doc_id is not None:
        return erasure.doc_id, erasure.key_id
    subject = record.subject
    doc = subject.document_id if isinstance(subject, FileSubject) else None
    legacy = _LEGACY_KEY_REFERENCE.fullmatch(erasure.key_reference)
    if legacy and legacy.group(2) == doc:
        return doc, legacy.group(1)
    return doc, None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the audit needs from a certificate whose envelope verified (compact, so that
    worker processes can send it back cheaply)."""

    certificate_id: str
    target: str
    digest: str
    success: bool
    outcome: str
    # (path, document id, content digest, destroyed) of each file subject
    files: tuple[tuple[str, str | None, str | None, bool], ...]
    drives: tuple[str, ...]
    # (document id, key id) of each destroyed key: whose key it was
    key_erasures: tuple[tuple[str | None, str | None], ...]
    anchor: tuple[str, int, str] | None

    @classmethod
    def of(cls, certificate: Certificate, digest: str) -> Facts:
        """The facts of a verified certificate."""
        files = []
        drives = []
        for record in certificate.subjects:
            subject = record.subject
            if isinstance(subject, FileSubject):
                files.append(
                    (
                        subject.raw_path,
                        subject.document_id,
                        subject.content_blake3,
                        record.destroyed,
                    )
                )
            elif isinstance(subject, DriveSubject):
                drives.append(subject.identity_token)
        anchor = certificate.ledger_anchor
        return cls(
            certificate_id=certificate.certificate_id,
            target=certificate.target,
            digest=digest,
            success=certificate.outcome is Outcome.SUCCESS,
            outcome=certificate.outcome.value,
            files=tuple(files),
            drives=tuple(drives),
            key_erasures=tuple(
                e for e in (_erasure_of(r) for r in certificate.subjects) if e is not None
            ),
            anchor=None if anchor is None else (anchor.ledger_id, anchor.seq, anchor.head_hash),
        )

    @classmethod
    def of_files(cls, certificate: FileCertificateFacts, digest: str) -> Facts:
        """The facts of a verified certificate of files, as its fast reader gave them
        (what ``of`` finds in the same certificate)."""
        return cls(
            certificate_id=certificate.certificate_id,
            target=certificate.target,
            digest=digest,
            success=certificate.outcome is Outcome.SUCCESS,
            outcome=certificate.outcome.value,
            files=certificate.files,
            drives=(),
            key_erasures=(),
            anchor=certificate.anchor,
        )

    @property
    def anchor_head(self) -> Head | None:
        """The ledger anchor as a head."""
        if self.anchor is None:
            return None
        ledger_id, seq, head_hash = self.anchor
        return Head(ledger_id, seq, bytes.fromhex(head_hash))


# (facts, None) when the envelope verified; (None, why not) otherwise.
Verdict = tuple[Facts | None, str | None]


class Verifier:
    """Verifies envelopes under a set of keys; a certificate met again among the last
    ``CACHED_VERDICTS`` is not verified again."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey]) -> None:
        self.keys = keys
        # (SHA-256 of the payload, signatures) -> verdict, oldest first. The digest, not
        # the payload: a payload weighs kilobytes. Ordered, so that the oldest goes in
        # O(1): a dict's first key after pops from its front is found by skipping every
        # slot freed before it (2 us per eviction at this size, ten times OrderedDict's).
        self.cache: OrderedDict[tuple[bytes, tuple[tuple[str, bytes], ...]], Verdict] = (
            OrderedDict()
        )

    def envelope(self, envelope: Envelope) -> Verdict:
        signatures = tuple((s.keyid, s.sig) for s in envelope.signatures)
        payload_sha256 = hashlib.sha256(envelope.payload).digest()
        key = (payload_sha256, signatures)
        found = self.cache.get(key)
        if found is None:
            found = self._verify(envelope, payload_sha256.hex())
            if len(self.cache) >= CACHED_VERDICTS:
                self.cache.popitem(last=False)
            self.cache[key] = found
        return found

    def _verify(self, envelope: Envelope, digest: str) -> Verdict:
        # verify_envelope's two halves, with the common certificate of files read by its
        # fast reader between them (the model's reader decides whatever that refuses).
        try:
            verify_certificate_signature(envelope, self.keys)
            fast = file_certificate_facts(envelope.payload)
            if fast is not None:
                return Facts.of_files(fast, digest), None
            return Facts.of(read_signed_certificate(envelope.payload), digest), None
        except CertificateError as exc:
            return None, f"{exc.reason.value}: {exc.message}"

    def data(self, data: object) -> Verdict:
        try:
            envelope = Envelope.from_dict(data)
        except ExpungeError as exc:
            return None, f"malformed: {exc.message}"
        return self.envelope(envelope)


# (seq, the hash of the entry's content, as the chain walk computes it): the verdict on the
# certificate of exactly the record the walk read at that seq, not of another record an
# export gives the same seq.
RecordKey = tuple[int, bytes]


def verify_envelopes(
    envelopes: Sequence[tuple[RecordKey, object]], verifier: Verifier
) -> dict[RecordKey, Verdict]:
    """The verdict on each destroy event's envelope (as the walk parsed it), by its
    event's record key (in a worker)."""
    return {key: verifier.data(envelope) for key, envelope in envelopes}
