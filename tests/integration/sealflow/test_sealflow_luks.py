"""``-m luks-erase`` through the CLI: loop devices and container files of ours only."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.support import Result, attach_loop, detach_loop, need_tool, needs_root, run_cli
from tests.support.cryptoerase import cryptsetup, key_opens, luks_format, make_keyfile
from tests.support.drivewipe import finished
from tests.support.sealflow import certificate, ok


@pytest.fixture(autouse=True)
def _cryptsetup() -> None:
    need_tool("cryptsetup")


def diskseq(node: str) -> str:
    return (Path("/sys/block") / Path(node).name / "diskseq").read_text().strip()


def wipe(node: str, home: Path, *extra: str) -> Result:
    return run_cli(
        "drive", "wipe", node, "-m", "luks-erase", *extra, "--include-virtual", "--yes",
        "--expect", f"diskseq:{diskseq(node)}", "--json", home=home,
    )  # fmt: skip


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@needs_root
@pytest.mark.parametrize("version", [1, 2])
def test_drive_luks_erase_kills_the_volume_and_certifies_purge(
    version: int, tmp_path: Path, cli_home: Path, loop_device: tuple[str, Path]
) -> None:
    node, backing = loop_device
    keyfile = make_keyfile(tmp_path)
    luks_format(node, keyfile, version)
    backup = tmp_path / "header.backup"
    assert cryptsetup("luksHeaderBackup", node, "--header-backup-file", backup).returncode == 0
    data_before = hashlib.sha256(backing.read_bytes()[32 << 20 :]).hexdigest()

    result = wipe(node, cli_home)
    assert result.code == 0, result
    (drive,) = finished(result.out)
    assert drive["status"] == "success"
    assert cryptsetup("isLuks", node).returncode != 0
    assert cryptsetup("luksDump", node).returncode != 0
    assert not key_opens(node, keyfile)
    # Only the metadata area was written: the data area is untouched ciphertext.
    assert hashlib.sha256(backing.read_bytes()[32 << 20 :]).hexdigest() == data_before

    cert = drive["certificate"]
    ok(run_cli("cert", "verify", cert, home=cli_home))
    payload = certificate(cert)
    assert payload["sanitization"]["category"] == "Purge"
    assert payload["sanitization"]["method_name"] == "cryptographic erase (LUKS keyslots)"
    assert payload["sanitization"]["method_used"] == "Cryptographic Erase"
    assert "luks-header-backups" in {lim["code"] for lim in payload["limitations"]}
    (subject,) = payload["subjects"]
    assert subject["key_erasure"]["scope"] == "luks" and subject["key_erasure"]["destroyed"]
    assert subject["verifications"][0]["status"] == "passed"

    # Why header backups matter: restoring one taken before reopens the volume.
    restore = cryptsetup("luksHeaderRestore", "--batch-mode", node, "--header-backup-file", backup)
    assert restore.returncode == 0, restore.stderr
    assert key_opens(node, keyfile)


@needs_root
def test_drive_luks_erase_then_overwrites_the_whole_volume(
    tmp_path: Path, cli_home: Path, loop_device: tuple[str, Path]
) -> None:
    node, backing = loop_device
    luks_format(node, make_keyfile(tmp_path), 2)
    result = wipe(node, cli_home, "--then", "zero")
    assert result.code == 0, result
    assert backing.read_bytes() == bytes(64 << 20)
    (drive,) = finished(result.out)
    (subject,) = certificate(drive["certificate"])["subjects"]
    assert [p["label"] for p in subject["passes"]][-1] == "00"
    assert len(subject["verifications"]) == 2


@needs_root
def test_non_luks_loop_device_is_refused_untouched(
    cli_home: Path, loop_device: tuple[str, Path]
) -> None:
    node, backing = loop_device
    with open(backing, "r+b") as f:
        f.write(os.urandom(1 << 20))
    before = digest(backing)
    result = wipe(node, cli_home)
    assert result.code == 3, result
    assert "is not a LUKS volume" in result.out + result.err
    assert digest(backing) == before
    assert not list((cli_home / "certificates").glob("*.cert.json"))


@needs_root
def test_luks_container_attached_to_a_loop_device_is_refused(
    tmp_path: Path, cli_home: Path
) -> None:
    container = tmp_path / "vault.img"
    with open(container, "wb") as f:
        f.truncate(32 << 20)
    luks_format(container, make_keyfile(tmp_path), 2)
    before = digest(container)
    node = attach_loop(container)
    try:
        result = run_cli("shred", "-m", "luks-erase", container, home=cli_home)
    finally:
        detach_loop(node)
    assert result.code == 3, result
    assert digest(container) == before


def test_luks_container_file_is_erased_and_kept(tmp_path: Path, cli_home: Path) -> None:
    container = tmp_path / "vault.img"
    with open(container, "wb") as f:
        f.truncate(32 << 20)
    keyfile = make_keyfile(tmp_path)
    luks_format(container, keyfile, 2)
    copy = tmp_path / "vault-copy.img"  # a copy made outside this station's control
    shutil.copyfile(container, copy)
    result = ok(run_cli("shred", "-m", "luks-erase", container, "--json", home=cli_home))
    data = json.loads(result.out)
    assert data["status"] == "success" and container.exists()
    assert cryptsetup("isLuks", container).returncode != 0
    assert key_opens(copy, keyfile)  # the certificate's limitation, shown for real
    payload = certificate(data["certificate"])
    assert payload["sanitization"]["category"] == "Purge"
    plain = tmp_path / "plain.bin"
    plain.write_bytes(os.urandom(1 << 20))
    refused = run_cli("shred", "-m", "luks-erase", plain, home=cli_home)
    assert refused.code == 3 and plain.read_bytes() != b""
    listed = ok(run_cli("methods", home=cli_home)).out
    assert "luks-erase" in listed and "NIST SP 800-88" in listed
