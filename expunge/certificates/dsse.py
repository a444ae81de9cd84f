"""DSSE v1 envelopes (the in-toto signing format) with Ed25519, read strictly.

An expunge certificate file is a DSSE envelope::

    {"payload": BASE64(certificate bytes),
     "payloadType": "application/vnd.expunge.certificate+json",
     "signatures": [{"keyid": KEYID, "sig": BASE64(signature)}],
     "countersignatures": [ ...optional, see below... ]}

How any DSSE implementation verifies the primary signature:

1. base64-decode ``payload`` (standard or URL-safe alphabet) into BODY;
2. build the pre-authentication encoding
   ``PAE = "DSSEv1" SP LEN(type) SP type SP LEN(BODY) SP BODY``, where ``type`` is the UTF-8
   ``payloadType``, SP one space and LEN the byte length as ASCII decimal;
3. check the Ed25519 signature ``sig`` (64 bytes, base64) over PAE with the station's public
   key, whose ``keyid`` is the hex SHA-256 of its raw 32-byte form. With securesystemslib:
   ``Envelope.from_dict(json.load(f)).verify([SSlibKey.from_crypto(pub, keyid=KEYID)], 1)``.

Only then is BODY parsed: it is the RFC 8785 canonical JSON of the certificate.

Countersignatures (an auditor's validation, NIST's "validation" block) live in the extra
top-level array ``countersignatures``. Each element is itself a complete DSSE envelope,
``payloadType`` ``application/vnd.expunge.validation+json``, whose payload is a small
canonical JSON statement naming the SHA-256 of the certificate payload it validates, so it
binds to this certificate and no other. The DSSE envelope specification lets producers
add fields and tells consumers to ignore the ones they do not know (securesystemslib's
``Envelope.from_dict`` reads only the three above), so the primary signature verifies
unchanged; the auditor's signature verifies the same way, over the nested envelope's own
PAE. Signatures in ``signatures`` all cover the same PAE, which is why a validation with
its own note and time cannot simply be appended there.

expunge itself reads its envelopes more strictly than a generic DSSE consumer: an unknown
field, a missing ``keyid``, an empty signature list or a signature that is not 64 bytes is
``malformed``. Nothing unsigned should ride along in a certificate archive unnoticed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from expunge.certificates.model import Certificate
from expunge.certificates.readback import check_reads_back
from expunge.certificates.reasons import CertificateError, Reason
from expunge.core.canonical import canonical_bytes, strict_loads
from expunge.core.errors import IntegrityError
from expunge.core.sha256 import sha256_hex
from expunge.core.strictjson import Fields

PAYLOAD_TYPE = "application/vnd.expunge.certificate+json"

_SIGNATURE_BYTES = 64
_TO_STANDARD = str.maketrans("-_", "+/")
_BASE64_CHUNK = 3 << 20  # a multiple of 3: the chunks' base64 joins as the whole's
_ENVELOPE_FIELDS = frozenset({"payload", "payloadType", "signatures"})
_WITH_COUNTERSIGNATURES = _ENVELOPE_FIELDS | {"countersignatures"}
_SIGNATURE_FIELDS = frozenset({"keyid", "sig"})


def keyid(public_key: Ed25519PublicKey) -> str:
    """The key's id (and fingerprint): hex SHA-256 of the raw 32-byte public key."""
    return sha256_hex(public_key.public_bytes_raw())


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what a signature covers."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def _b64decode(text: str, where: str) -> bytes:
    """Standard or URL-safe base64 (DSSE accepts both, not mixed), padding optional."""
    if len(text) % 4 == 0 and text.find("=", 0, len(text) - 2) < 0:
        # What expunge writes (standard alphabet, padded) decodes in one strict C pass.
        # Strict mode still lets '=' follow a whole group of four, hence the test above;
        # anything else is taken apart below, to accept it or say what is wrong.
        try:
            return binascii.a2b_base64(text, strict_mode=True)
        except (binascii.Error, ValueError):
            pass
    return _b64decode_lenient(text, where)


def _b64decode_lenient(text: str, where: str) -> bytes:
    """``_b64decode`` without its fast path: every form DSSE accepts, each defect named."""
    bare = text[:-2] + text[-2:].rstrip("=")
    if "=" in bare:
        raise IntegrityError(f"{where} is not base64 (misplaced '=')")
    if "-" in bare or "_" in bare:
        if "+" in bare or "/" in bare:
            raise IntegrityError(f"{where} mixes the standard and URL-safe base64 alphabets")
        bare = bare.translate(_TO_STANDARD)
    try:
        return base64.b64decode(bare + "=" * (-len(bare) % 4), validate=True)
    except binascii.Error:
        raise IntegrityError(f"{where} is not base64") from None


@dataclass(frozen=True)
class Signature:
    """One DSSE signature: the signing key's id and the raw 64-byte Ed25519 signature."""

    keyid: str
    sig: bytes

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``sig`` in standard base64)."""
        return {"keyid": self.keyid, "sig": base64.b64encode(self.sig).decode("ascii")}

    @classmethod
    def from_dict(cls, data: object, where: str) -> Signature:
        """Strictly read the JSON form."""
        f = Fields(data, where, _SIGNATURE_FIELDS)
        sig = _b64decode(f.text("sig"), f"{where}.sig")
        if len(sig) != _SIGNATURE_BYTES:
            raise IntegrityError(f"{where}.sig is {len(sig)} bytes; Ed25519 signatures are 64")
        return cls(keyid=f.text("keyid"), sig=sig)


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope; ``countersignatures`` are nested envelopes (see the module docs)."""

    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]
    countersignatures: tuple[Envelope, ...] = ()

    @property
    def payload_sha256(self) -> str:
        """Hex SHA-256 of the payload bytes: the certificate digest."""
        return sha256_hex(self.payload)

    def to_dict(self, *, payload: bool = True) -> dict[str, Any]:
        """JSON form; ``countersignatures`` only when there are some (a plain DSSE file);
        without the ``payload`` when not asked for it."""
        data: dict[str, Any] = {}
        if payload:
            data["payload"] = base64.b64encode(self.payload).decode("ascii")
        data["payloadType"] = self.payload_type
        data["signatures"] = [s.to_dict() for s in self.signatures]
        if self.countersignatures:
            data["countersignatures"] = [c.to_dict() for c in self.countersignatures]
        return data

    def to_json(self) -> bytes:
        """The file's bytes: canonical JSON and a newline."""
        return b"".join(self.json_chunks())

    def json_chunks(self) -> Iterator[bytes]:
        """``to_json`` in pieces, the payload's base64 a few MiB at a time: a certificate
        of 10,000 files has a 13 MB payload, and its base64 need never be whole in memory.
        Base64 needs no escaping in JSON, and RFC 8785 orders these ASCII names as
        Python does."""
        fields = self.to_dict(payload=False)
        for number, name in enumerate(sorted([*fields, "payload"])):
            yield (b"," if number else b"{") + canonical_bytes(name) + b":"
            if name != "payload":
                yield canonical_bytes(fields[name])
                continue
            yield b'"'
            view = memoryview(self.payload)
            for start in range(0, len(view), _BASE64_CHUNK):
                yield base64.b64encode(view[start : start + _BASE64_CHUNK])
            yield b'"'
        yield b"}\n"

    @classmethod
    def from_json(cls, data: bytes) -> Envelope:
        """Strictly parse an envelope file; any defect is ``Reason.MALFORMED``."""
        try:
            return cls.from_dict(strict_loads(data, what="envelope"))
        except CertificateError:
            raise
        except IntegrityError as exc:
            raise CertificateError(
                Reason.MALFORMED,
                exc.message,
                remedy="the file is damaged or not an expunge certificate",
            ) from None

    @classmethod
    def from_dict(cls, data: object, where: str = "envelope", *, nested: bool = False) -> Envelope:
        """Strictly read the JSON form (a nested envelope has no countersignatures)."""
        has_counter = not nested and isinstance(data, dict) and "countersignatures" in data
        f = Fields(data, where, _WITH_COUNTERSIGNATURES if has_counter else _ENVELOPE_FIELDS)
        signatures = tuple(Signature.from_dict(v, w) for w, v in f.items("signatures"))
        if not signatures:
            raise IntegrityError(f"{where}.signatures is empty: the envelope is not signed")
        keyids = [s.keyid for s in signatures]
        if len(set(keyids)) != len(keyids):
            raise IntegrityError(f"{where}.signatures has two signatures by one key")
        counter: tuple[Envelope, ...] = ()
        if has_counter:
            counter = tuple(
                cls.from_dict(v, w, nested=True) for w, v in f.items("countersignatures")
            )
            if not counter:
                raise IntegrityError(f"{where}.countersignatures is empty (omit it instead)")
        return cls(
            payload_type=f.text("payloadType"),
            payload=_b64decode(f.text("payload"), f"{where}.payload"),
            signatures=signatures,
            countersignatures=counter,
        )


def sign_envelope(
    payload: bytes, private_key: Ed25519PrivateKey, payload_type: str = PAYLOAD_TYPE
) -> Envelope:
    """Sign ``payload`` (exact bytes) as a DSSE envelope with one Ed25519 signature."""
    signature = Signature(
        keyid=keyid(private_key.public_key()),
        sig=private_key.sign(pae(payload_type, payload)),
    )
    return Envelope(payload_type=payload_type, payload=payload, signatures=(signature,))


def sign_certificate(certificate: Certificate, private_key: Ed25519PrivateKey) -> Envelope:
    """Sign a certificate, after checking it reads back as itself.

    A certificate the station cannot read back would be signed yet never verify; the check
    turns that into an error at issue time (naming the bad field), not years later.
    """
    payload = certificate.assembled()
    check_reads_back(certificate, payload)
    return sign_envelope(payload.data, private_key)
