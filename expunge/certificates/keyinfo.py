"""What ``key show`` prints of the station key: its fingerprint, file, age, encryption,
and its ids in securesystemslib's and OpenSSH's conventions.

Apart from ``keys`` because signing never shows a key: ``key init`` and ``key show``
import this module, a one-file shred does not build ``KeyInfo``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from expunge.certificates.dsse import keyid
from expunge.core.canonical import canonical_bytes
from expunge.core.clock import rfc3339
from expunge.core.sha256 import sha256_hex


@dataclass(frozen=True)
class KeyInfo:
    """What ``key show`` prints: fingerprint (= keyid), where, since when, encrypted or not,
    and the key's ids in securesystemslib's and OpenSSH's conventions."""

    fingerprint: str
    path: str
    created: str
    encrypted: bool
    securesystemslib_keyid: str
    openssh_fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "fingerprint": self.fingerprint,
            "path": self.path,
            "created": self.created,
            "encrypted": self.encrypted,
            "securesystemslib_keyid": self.securesystemslib_keyid,
            "openssh_fingerprint": self.openssh_fingerprint,
        }


def securesystemslib_keyid(public_key: Ed25519PublicKey) -> str:
    """The keyid securesystemslib (and so in-toto, TUF) gives this key by default.

    Hex SHA-256 of the canonical JSON ``{"keytype": "ed25519", "keyval": {"public": HEX},
    "scheme": "ed25519"}`` (HEX: the raw public key); ASCII only, so RFC 8785 and the OLPC
    canonical JSON securesystemslib uses give the same bytes.
    """
    raw = public_key.public_bytes_raw().hex()
    key = {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": raw}}
    return sha256_hex(canonical_bytes(key))


def openssh_fingerprint(public_key: Ed25519PublicKey) -> str:
    """``SHA256:...`` as ``ssh-keygen -l`` prints it: unpadded base64 of the SHA-256 of the
    key's OpenSSH wire form."""
    line = public_key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    blob = base64.b64decode(line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def describe(path: Path, key: Ed25519PrivateKey, encrypted: bool) -> KeyInfo:
    """What ``key show`` prints of ``key``, kept at ``path``."""
    created = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    public = key.public_key()
    return KeyInfo(
        fingerprint=keyid(public),
        path=str(path),
        created=rfc3339(created),
        encrypted=encrypted,
        securesystemslib_keyid=securesystemslib_keyid(public),
        openssh_fingerprint=openssh_fingerprint(public),
    )
