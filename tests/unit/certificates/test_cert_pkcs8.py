"""The station key's own PKCS#8 shape, read without cryptography's serialization."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from expunge.certificates.pkcs8 import ed25519_seed


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def test_the_seed_of_an_unencrypted_key_is_its_raw_private_bytes() -> None:
    key = Ed25519PrivateKey.generate()
    assert ed25519_seed(_pem(key)) == key.private_bytes_raw()


def test_an_encrypted_key_is_left_to_the_full_parser() -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"passphrase")
    )
    assert ed25519_seed(pem) is None


def test_any_other_shape_is_left_to_the_full_parser() -> None:
    pem = _pem(Ed25519PrivateKey.generate())
    lines = pem.split(b"\n")
    assert ed25519_seed(pem.replace(b"\n", b"\r\n")) is None
    assert ed25519_seed(b"junk" + pem) is None
    assert ed25519_seed(pem + b"\n") is None
    assert ed25519_seed(b"\n".join([lines[0], lines[1][:-4], *lines[2:]])) is None
    assert ed25519_seed(b"\n".join([lines[0], b"!" + lines[1][1:], *lines[2:]])) is None
    # Same length, another algorithm identifier (X25519, 1.3.101.110).
    other = pem.replace(b"MC4CAQAwBQYDK2VwBCIEI", b"MC4CAQAwBQYDK2VuBCIEI")
    assert ed25519_seed(other) is None
