"""Document keys and the key-encryption key: fresh keys, their public ids, AES key wrap."""

from __future__ import annotations

import hmac
import secrets

from cryptography.hazmat.primitives import keywrap

from expunge.core.errors import IntegrityError, UsageError

KEY_BYTES = 32
KEY_ID_BYTES = 16
_KEY_ID_LABEL = b"expunge key id v1"


def new_document_key() -> bytes:
    """A fresh 256-bit document key from the OS CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def new_kek() -> bytes:
    """A fresh 256-bit key-encryption key for a station's key store (stored by layer 2)."""
    return secrets.token_bytes(KEY_BYTES)


def key_id(key: bytes) -> str:
    """The public name of a key: 16 bytes of HMAC-SHA256 under it, in hex."""
    return raw_key_id(key).hex()


def raw_key_id(key: bytes) -> bytes:
    """The 16 bytes of ``key_id``, as the sealed header stores them."""
    return hmac.digest(key, _KEY_ID_LABEL, "sha256")[:KEY_ID_BYTES]


def wrap_key(kek: bytes, document_key: bytes) -> bytes:
    """``document_key`` wrapped under ``kek`` with AES key wrap (RFC 3394): 40 bytes."""
    check_key(kek, "key-encryption key")
    check_key(document_key, "document key")
    return keywrap.aes_key_wrap(kek, document_key)


def unwrap_key(kek: bytes, wrapped: bytes) -> bytes:
    """The document key inside ``wrapped``; IntegrityError if ``kek`` did not wrap it."""
    check_key(kek, "key-encryption key")
    try:
        return keywrap.aes_key_unwrap(kek, wrapped)
    except (keywrap.InvalidUnwrap, ValueError) as exc:
        raise IntegrityError(
            "the wrapped document key does not unwrap under this key-encryption key",
            target="key store",
            remedy="use the station whose key store sealed the document",
        ) from exc


def check_key(key: bytes, what: str) -> None:
    """UsageError unless ``key`` is an AES-256 key (``what`` names it in the message)."""
    if len(key) != KEY_BYTES:
        raise UsageError(f"a {what} is {KEY_BYTES} bytes, not {len(key)}")
