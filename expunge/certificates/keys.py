"""The station's Ed25519 signing key: created once, kept private, shown and exported.

The private key is PKCS#8 PEM, encrypted (``BestAvailableEncryption``) when the caller
passes a passphrase, and readable by its owner only (mode 0600). It is created next to its
final name and linked into place, so an existing key is never overwritten and no reader
ever sees half a key. The passphrase is bytes passed in by the caller: this module reads no
environment and prompts for nothing.

Signing with the station key needs none of ``cryptography``'s serialization package (an
unencrypted key in the shape ``key init`` writes is read by ``pkcs8``), so the functions
that write, export or parse other key forms import it where they run: a one-file shred
does not pay for it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from expunge.certificates.dsse import keyid
from expunge.certificates.pkcs8 import ed25519_seed
from expunge.core.atomic import write_new
from expunge.core.errors import IntegrityError, RefusedError, TargetError, UsageError

if TYPE_CHECKING:
    from expunge.certificates.keyinfo import KeyInfo

_ENCRYPTED_HEADER = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
_PRIVATE_MODE = 0o600
_PUBLIC_MODE = 0o644


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """The key's fingerprint: hex SHA-256 of the raw public key (its DSSE keyid)."""
    return keyid(public_key)


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    """The public key as SubjectPublicKeyInfo PEM, for auditors' trust stores."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def init_key(path: Path, passphrase: bytes | None) -> KeyInfo:
    """Create a station key at ``path`` (encrypted when a passphrase is given).

    Refuses (``RefusedError``) if a key is already there; creates the parent folder with
    mode 0700 if needed.
    """
    if passphrase is not None and not passphrase:
        raise UsageError("the key passphrase is empty", remedy="give a non-empty passphrase")
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    key = Ed25519PrivateKey.generate()
    encryption = NoEncryption() if passphrase is None else BestAvailableEncryption(passphrase)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_new(path, pem, _PRIVATE_MODE)
    except FileExistsError:
        raise RefusedError(
            "a station key already exists",
            target=str(path),
            remedy="keep it (expunge key show), or move it away first to make a new one",
        ) from None
    except OSError as exc:
        raise TargetError(f"cannot write the key: {exc.strerror}", target=str(path)) from None
    from expunge.certificates.keyinfo import describe

    return describe(path, key, passphrase is not None)


def _read_private_pem(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise TargetError(
            "no station key here", target=str(path), remedy="create one with: expunge key init"
        ) from None
    except OSError as exc:
        raise TargetError(f"cannot open the key: {exc.strerror}", target=str(path)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IntegrityError("the key is not a regular file", target=str(path))
        if info.st_mode & 0o077:
            raise IntegrityError(
                f"the private key is readable by others (mode {stat.S_IMODE(info.st_mode):04o})",
                target=str(path),
                remedy=f"restrict it with: chmod 600 {path}",
            )
        with os.fdopen(fd, "rb") as handle:
            fd = -1
            return handle.read()
    finally:
        if fd >= 0:
            os.close(fd)


def _parse_private(pem: bytes, path: Path, passphrase: bytes | None) -> Ed25519PrivateKey:
    encrypted = _ENCRYPTED_HEADER in pem
    if encrypted and not passphrase:
        raise UsageError(
            "the station key is encrypted and no passphrase was given",
            target=str(path),
            remedy="set EXPUNGE_KEY_PASSPHRASE, or key_passphrase_file in the [station] table "
            "of config.toml (see 'expunge config show')",
        )
    if not encrypted and passphrase is not None and b"PRIVATE KEY-----" in pem:
        raise UsageError(
            "a passphrase was given but the station key is not encrypted",
            target=str(path),
            remedy="drop the passphrase, or create an encrypted key with a passphrase",
        )
    seed = None if encrypted else ed25519_seed(pem)
    if seed is not None:
        return Ed25519PrivateKey.from_private_bytes(seed)
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem, password=passphrase if encrypted else None)
    except ValueError as exc:
        if encrypted and "decrypt" in str(exc).lower():
            raise UsageError(
                "wrong passphrase for the station key",
                target=str(path),
                remedy="give the passphrase the key was created with",
            ) from None
        raise IntegrityError(
            "not a readable PKCS#8 PEM private key",
            target=str(path),
            remedy="restore the key from backup, or move it away and run: expunge key init",
        ) from None
    except (TypeError, UnicodeError):
        raise IntegrityError("not a readable PKCS#8 PEM private key", target=str(path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise IntegrityError(
            f"the key is {type(key).__name__.removeprefix('_')}, not Ed25519",
            target=str(path),
            remedy="expunge signs with Ed25519 keys: run expunge key init at another path",
        )
    return key


def load_private_key(path: Path, passphrase: bytes | None) -> Ed25519PrivateKey:
    """Load the station key, with one clear error for each way it can fail.

    Missing key, missing or unexpected passphrase, and a wrong passphrase are
    ``UsageError``; a key file open to others, malformed, or not Ed25519 is
    ``IntegrityError``.
    """
    return _parse_private(_read_private_pem(path), path, passphrase)


def key_info(path: Path, passphrase: bytes | None) -> KeyInfo:
    """Fingerprint, path, creation time (file mtime) and encryption of the station key."""
    from expunge.certificates.keyinfo import describe

    pem = _read_private_pem(path)
    return describe(path, _parse_private(pem, path, passphrase), _ENCRYPTED_HEADER in pem)


def ensure_key(path: Path, passphrase: bytes | None) -> tuple[Ed25519PrivateKey, bool]:
    """The station key, created on first use; ``True`` when it was just created."""
    created = False
    if not path.exists():
        # Another process may create it between the check and the link: then use theirs.
        with contextlib.suppress(RefusedError):
            init_key(path, passphrase)
            created = True
    return load_private_key(path, passphrase), created


def load_public_key(data: bytes, source: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (``IntegrityError`` naming ``source`` otherwise)."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError, UnicodeError):
        raise IntegrityError(
            "not a PEM public key",
            target=source,
            remedy="export it with: expunge key export",
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise IntegrityError(
            f"the public key is {type(key).__name__.removeprefix('_')}, not Ed25519",
            target=source,
        )
    return key


def write_public_key(path: Path, public_key: Ed25519PublicKey) -> None:
    """Export the public key to ``path`` (mode 0644), refusing to replace a file."""
    try:
        write_new(path, public_key_pem(public_key), _PUBLIC_MODE)
    except FileExistsError:
        raise RefusedError(
            "file already exists", target=str(path), remedy="choose another file name"
        ) from None
    except OSError as exc:
        raise TargetError(f"cannot write: {exc.strerror}", target=str(path)) from None
