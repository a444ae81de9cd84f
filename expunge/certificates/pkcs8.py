"""The station key's own shape read directly, without ``cryptography``'s serialization.

``key init`` writes an unencrypted key as one PEM block holding RFC 8410's fixed 48-byte
DER: version 0, the Ed25519 algorithm identifier, then the 32-byte seed. Importing
``cryptography.hazmat.primitives.serialization`` (its SSH, PKCS#12 and EC modules come
with it) costs a one-file shred about a tenth of its instructions, so this one shape is
read here; any other (encrypted, other algorithms, other layouts) goes to the full parser.
"""

from __future__ import annotations

import base64
import binascii

_BEGIN = b"-----BEGIN PRIVATE KEY-----\n"
_END = b"\n-----END PRIVATE KEY-----\n"
# SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }
_ED25519_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
_SEED_BYTES = 32


def ed25519_seed(pem: bytes) -> bytes | None:
    """The 32-byte seed when ``pem`` is exactly one unencrypted Ed25519 PKCS#8 block as
    ``key init`` writes it; ``None`` for anything else."""
    if len(pem) < len(_BEGIN) + len(_END) or not pem.startswith(_BEGIN) or not pem.endswith(_END):
        return None
    try:
        der = base64.b64decode(pem[len(_BEGIN) : -len(_END)], validate=True)
    except binascii.Error:
        return None
    if len(der) != len(_ED25519_PREFIX) + _SEED_BYTES or not der.startswith(_ED25519_PREFIX):
        return None
    return der[len(_ED25519_PREFIX) :]
