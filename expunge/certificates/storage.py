"""Certificate files on disk: written atomically, read strictly.

A reader (an auditor's script, a backup job) must never see half a certificate, and a
crash must not leave one: the envelope goes to a temporary file in the same folder, is
synced, renamed over the final name, and the folder is synced.
"""

from __future__ import annotations

from pathlib import Path

from expunge.certificates.dsse import PAYLOAD_TYPE, Envelope
from expunge.certificates.model import Certificate
from expunge.certificates.reasons import CertificateError, Reason
from expunge.core.atomic import write_atomic
from expunge.core.errors import IntegrityError, TargetError

_MODE = 0o644


def write_envelope(path: Path, envelope: Envelope) -> None:
    """Write ``envelope`` to ``path`` atomically (mode 0644), replacing any file there."""
    try:
        write_atomic(path, envelope.json_chunks(), _MODE)
    except OSError as exc:
        raise TargetError(
            f"cannot write the certificate: {exc.strerror}",
            target=str(path),
            remedy="check that the folder exists and is writable",
        ) from None


def read_envelope(path: Path) -> Envelope:
    """Read and strictly parse a certificate envelope file.

    An unreadable file is a ``TargetError``; a malformed one, or one that holds something
    other than a certificate, a ``CertificateError`` (``malformed``, ``wrong-payload-type``).
    Signatures are not checked here: see ``verify_envelope``.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TargetError(
            f"cannot read the certificate: {exc.strerror}", target=str(path)
        ) from None
    envelope = Envelope.from_json(data)
    if envelope.payload_type != PAYLOAD_TYPE:
        raise CertificateError(
            Reason.WRONG_PAYLOAD_TYPE,
            f"payloadType is {envelope.payload_type!r}, not {PAYLOAD_TYPE!r}",
            target=str(path),
            remedy="this file does not hold an expunge certificate",
        )
    return envelope


def claimed_certificate(envelope_bytes: bytes) -> Certificate | None:
    """The certificate an envelope's payload claims to be, read without checking any
    signature: for showing an untrusted certificate under its warning, never for relying
    on it. None when the envelope or its payload is not a readable certificate."""
    try:
        return Certificate.from_json(Envelope.from_json(envelope_bytes).payload)
    except IntegrityError:
        return None
