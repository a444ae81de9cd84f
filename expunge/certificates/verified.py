"""An envelope verified: its signatures checked under trusted keys, then the certificate
its payload holds read strictly (``dsse`` has the envelope format and the signing).

Apart from ``dsse`` because a station that only signs (every destroying command) never
verifies an envelope: it imports none of this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from expunge.certificates.dsse import PAYLOAD_TYPE, Envelope, pae
from expunge.certificates.model import Certificate, UnsupportedSchema
from expunge.certificates.reasons import CertificateError, Reason
from expunge.core.errors import IntegrityError


def verify_signatures(envelope: Envelope, trusted_keys: Mapping[str, Ed25519PublicKey]) -> str:
    """Check every signature by a trusted key over the envelope's PAE; return the signer.

    Signatures by keys not in ``trusted_keys`` are ignored; if none is trusted, the
    envelope is rejected as ``unknown-key``; if any trusted one fails, as ``bad-signature``.
    """
    trusted = [s for s in envelope.signatures if s.keyid in trusted_keys]
    if not trusted:
        signers = ", ".join(s.keyid for s in envelope.signatures)
        raise CertificateError(
            Reason.UNKNOWN_KEY,
            f"signed by key {signers}, which is not in the trust store",
            remedy="add the signer's public key with --trust KEY or to <home>/trusted/",
        )
    message = pae(envelope.payload_type, envelope.payload)
    for signature in trusted:
        try:
            trusted_keys[signature.keyid].verify(signature.sig, message)
        except InvalidSignature:
            raise CertificateError(
                Reason.BAD_SIGNATURE,
                f"the signature by key {signature.keyid} does not verify:"
                " the envelope was altered or not signed by that key",
                remedy="do not rely on it; obtain the original certificate from the station",
            ) from None
    return trusted[0].keyid


@dataclass(frozen=True)
class VerifiedEnvelope:
    """An envelope whose signature verified under a trusted key, and its certificate."""

    envelope: Envelope
    certificate: Certificate
    signer: str

    @property
    def digest(self) -> str:
        """Hex SHA-256 of the signed payload (equal to ``certificate.digest``)."""
        return self.envelope.payload_sha256


def verify_envelope(
    envelope: Envelope, trusted_keys: Mapping[str, Ed25519PublicKey]
) -> VerifiedEnvelope:
    """Verify the signature over the exact payload bytes, then parse them strictly.

    Raises ``CertificateError`` with ``wrong-payload-type``, ``unknown-key``,
    ``bad-signature``, ``unsupported-schema`` or ``invalid-certificate``. Countersignatures
    are not looked at here (see ``expunge.certificates.countersignature``).
    """
    signer = verify_certificate_signature(envelope, trusted_keys)
    return VerifiedEnvelope(envelope, read_signed_certificate(envelope.payload), signer)


def verify_certificate_signature(
    envelope: Envelope, trusted_keys: Mapping[str, Ed25519PublicKey]
) -> str:
    """The first half of ``verify_envelope``: the envelope holds a certificate and its
    signature verifies under a trusted key (returned); its ``CertificateError`` otherwise."""
    if envelope.payload_type != PAYLOAD_TYPE:
        raise CertificateError(
            Reason.WRONG_PAYLOAD_TYPE,
            f"payloadType is {envelope.payload_type!r}, not {PAYLOAD_TYPE!r}",
            remedy="this envelope does not hold an expunge certificate",
        )
    return verify_signatures(envelope, trusted_keys)


def read_signed_certificate(payload: bytes) -> Certificate:
    """The second half of ``verify_envelope``: the certificate a payload whose signature
    verified holds, strictly read; ``unsupported-schema`` or ``invalid-certificate``
    otherwise."""
    try:
        return Certificate.from_json(payload)
    except UnsupportedSchema as exc:
        raise CertificateError(
            Reason.UNSUPPORTED_SCHEMA, exc.message, remedy="verify it with a newer expunge"
        ) from None
    except IntegrityError as exc:
        raise CertificateError(
            Reason.INVALID_CERTIFICATE,
            f"signed, but not a valid certificate: {exc.message}",
            remedy="the signing station is faulty or its key is misused; report it",
        ) from None
