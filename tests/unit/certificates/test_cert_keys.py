"""Station keys: private on disk, encrypted on request, never overwritten, clear errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from expunge.certificates import (
    ensure_key,
    fingerprint,
    init_key,
    key_info,
    keyid,
    load_private_key,
    load_public_key,
    public_key_pem,
    sign_envelope,
    write_public_key,
)
from expunge.certificates.verified import verify_signatures
from expunge.core.errors import IntegrityError, RefusedError, TargetError, UsageError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_a_private_key_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "home" / "station.key"
    info = init_key(path, None)

    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert not info.encrypted
    assert info.path == str(path)
    assert info.fingerprint == fingerprint(load_private_key(path, None).public_key())
    assert [p.name for p in path.parent.iterdir()] == ["station.key"]


def test_mode_is_0600_even_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        init_key(tmp_path / "k", None)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "k") == 0o600


def test_init_refuses_to_overwrite_an_existing_key(tmp_path: Path) -> None:
    path = tmp_path / "station.key"
    init_key(path, None)
    before = path.read_bytes()

    with pytest.raises(RefusedError) as caught:
        init_key(path, None)

    assert path.read_bytes() == before
    assert "already exists" in caught.value.diagnostics()
    assert str(path) in caught.value.diagnostics()


def test_encrypted_key_needs_its_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "station.key"
    info = init_key(path, b"correct horse")
    assert info.encrypted
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")

    key = load_private_key(path, b"correct horse")
    assert fingerprint(key.public_key()) == info.fingerprint

    with pytest.raises(UsageError, match="encrypted and no passphrase"):
        load_private_key(path, None)


def test_wrong_passphrase_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "station.key"
    init_key(path, b"correct horse")

    with pytest.raises(UsageError) as caught:
        load_private_key(path, b"battery staple")

    line = caught.value.diagnostics()
    assert "wrong passphrase" in line
    assert str(path) in line
    assert "\n" not in line


def test_passphrase_for_an_unencrypted_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "station.key"
    init_key(path, None)
    with pytest.raises(UsageError, match="not encrypted"):
        load_private_key(path, b"secret")


def test_empty_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="empty"):
        init_key(tmp_path / "k", b"")
    assert not (tmp_path / "k").exists()


def test_key_open_to_others_is_refused_with_the_chmod_remedy(tmp_path: Path) -> None:
    path = tmp_path / "station.key"
    init_key(path, None)
    path.chmod(0o640)

    with pytest.raises(IntegrityError) as caught:
        load_private_key(path, None)

    assert "readable by others (mode 0640)" in caught.value.diagnostics()
    assert f"chmod 600 {path}" in caught.value.diagnostics()


def test_missing_key_says_how_to_create_one(tmp_path: Path) -> None:
    # A target problem (exit 4), not a usage error (issue [2/8]).
    with pytest.raises(TargetError, match="expunge key init"):
        load_private_key(tmp_path / "absent.key", None)


def test_malformed_pem_is_an_integrity_error(tmp_path: Path) -> None:
    path = tmp_path / "station.key"
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    path.chmod(0o600)
    with pytest.raises(IntegrityError, match="not a readable PKCS#8 PEM"):
        load_private_key(path, None)


def test_a_key_that_is_not_ed25519_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "station.key"
    ec = generate_private_key(SECP256R1())
    path.write_bytes(ec.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    path.chmod(0o600)
    with pytest.raises(IntegrityError, match="not Ed25519"):
        load_private_key(path, None)


def test_ensure_key_creates_on_first_use_only(tmp_path: Path) -> None:
    path = tmp_path / "station.key"
    first, created = ensure_key(path, b"pw")
    second, created_again = ensure_key(path, b"pw")

    assert created
    assert not created_again
    assert fingerprint(first.public_key()) == fingerprint(second.public_key())


def test_key_info_reports_fingerprint_creation_and_encryption(tmp_path: Path) -> None:
    path = tmp_path / "station.key"
    made = init_key(path, b"pw")
    shown = key_info(path, b"pw")

    assert shown == made
    assert shown.created.endswith("Z")
    assert len(shown.fingerprint) == 64
    assert shown.to_dict()["encrypted"] is True


def test_exported_public_key_verifies_the_stations_signatures(tmp_path: Path) -> None:
    path = tmp_path / "station.key"
    init_key(path, None)
    key = load_private_key(path, None)
    exported = tmp_path / "station.pub"
    write_public_key(exported, key.public_key())

    public = load_public_key(exported.read_bytes(), str(exported))
    envelope = sign_envelope(b"{}", key, "application/json")

    assert _mode(exported) == 0o644
    assert exported.read_bytes() == public_key_pem(key.public_key())
    assert keyid(public) == envelope.signatures[0].keyid
    with pytest.raises(RefusedError):
        write_public_key(exported, key.public_key())
    assert verify_signatures(envelope, {keyid(public): public}) == keyid(public)
