"""SHA-256 in hex, by the ``cryptography`` package rather than ``hashlib``.

Certificates, key ids and journal names are SHA-256 digests. ``hashlib`` loads the
system's OpenSSL (libcrypto) when imported, about 2% of a one-file ``expunge shred``;
``cryptography`` is loaded anyway (AES-CTR passes, Ed25519 signatures) and brings its own.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.hashes import SHA256, Hash


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    digest = Hash(SHA256())
    digest.update(data)
    return digest.finalize().hex()
