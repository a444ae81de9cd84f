"""Sealed documents through the CLI: seal, copy, destroy the key, and every copy is dead."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from tests.support import MountedImage, Result, count_in_file, run_cli, unmount
from tests.support.sealflow import (
    certificate,
    destroy,
    keystore_files,
    ok,
    seal,
    wrapped_key,
)

CANARY = b"SEALFLOW-CANARY-7f3a9c1e-PLAINTEXT"


def make_plain(path: Path, size: int = 3 << 20) -> bytes:
    """A document of random bytes with a canary in it; returns the content."""
    content = os.urandom(size // 2) + CANARY + os.urandom(size // 2)
    path.write_bytes(content)
    return content


def one_error(result: Result, code: int) -> str:
    assert result.code == code, result
    err = result.err
    assert "Traceback" not in err, result
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("expunge: "), result
    return lines[0]


def test_seal_then_unseal_round_trip_and_plaintext_is_shredded(
    tmp_path: Path, cli_home: Path
) -> None:
    plain = tmp_path / "report.pdf"
    content = make_plain(plain)
    sealed = seal(cli_home, plain, "--doc", "DOC-RT", "--classification", "confidential")
    assert sealed["doc_id"] == "DOC-RT"
    assert sealed["sealed_path"] == f"{plain}.sealed"
    assert sealed["plaintext"]["status"] == "success"
    assert not plain.exists()
    assert CANARY not in Path(sealed["sealed_path"]).read_bytes()
    kek = cli_home / "station.kek"
    assert kek.stat().st_size == 32 and kek.stat().st_mode & 0o777 == 0o600
    out = tmp_path / "back.pdf"
    ok(run_cli("unseal", sealed["sealed_path"], "-o", out, home=cli_home))
    assert out.read_bytes() == content
    again = run_cli("seal", out, "--doc", "DOC-RT", home=cli_home)
    assert "DOC-RT is registered, but not at this path" in one_error(again, 2)


def test_unregistered_file_needs_a_classification(tmp_path: Path, cli_home: Path) -> None:
    plain = tmp_path / "memo.txt"
    make_plain(plain, 4096)
    # The station key exists first: a shared-ledger-aware lookup asks which station (and
    # so its key) the paths belong to before the classification is checked.
    assert run_cli("key", "init", home=cli_home).code == 0
    result = run_cli("seal", plain, home=cli_home)
    assert "--classification" in one_error(result, 2)
    assert plain.exists() and not Path(f"{plain}.sealed").exists()


def test_seal_copy_destroy_then_every_copy_fails_to_unseal(
    tmp_path: Path, cli_home: Path, ext4_image: MountedImage
) -> None:
    plain = tmp_path / "plan.doc"
    make_plain(plain)
    sealed = seal(cli_home, plain, "--doc", "DOC-CP", "--classification", "secret")
    copy = ext4_image.mount / "plan.doc.sealed"
    copy.write_bytes(Path(sealed["sealed_path"]).read_bytes())
    ok(run_cli("ledger", "copy", "DOC-CP", "--to", copy, home=cli_home))
    stray = tmp_path / "stray-copy.sealed"  # a copy the ledger never heard of
    stray.write_bytes(copy.read_bytes())
    key = wrapped_key(cli_home, "DOC-CP")
    unmount(ext4_image)  # the recorded copy is out of reach: only the key can kill it

    result = destroy(cli_home, "DOC-CP")
    assert result["status"] == "success"
    cert_path = result["certificate"]
    payload = certificate(cert_path)
    assert payload["sanitization"]["category"] == "Purge"
    assert payload["sanitization"]["method_used"] == "Cryptographic Erase"
    key_subjects = [s for s in payload["subjects"] if s["key_erasure"]]
    assert len(key_subjects) == 1
    assert key_subjects[0]["key_erasure"]["destroyed"] is True
    checks = key_subjects[0]["verifications"]
    assert [c["mode"] for c in checks] == ["key-slot-read-back", "key-scan"]
    assert all(c["status"] == "passed" for c in checks), checks
    assert checks[0]["cache_bypass"] == "O_DIRECT"
    ok(run_cli("cert", "verify", cert_path, home=cli_home))

    for path in keystore_files(cli_home):
        assert key not in path.read_bytes(), path
    shown = json.loads(ok(run_cli("ledger", "show", "DOC-CP", "--json", home=cli_home)).out)
    assert shown["status"] == "destroyed"
    assert shown["key_erased_by"]["certificate_id"] == payload["certificate_id"]
    assert all(loc["status"] == "destroyed" for loc in shown["locations"])

    subprocess.run(
        ["mount", "-o", "loop", str(ext4_image.image), str(ext4_image.mount)], check=True
    )
    for dead in (copy, stray):
        out = tmp_path / f"{dead.name}.out"
        line = one_error(run_cli("unseal", dead, "-o", out, home=cli_home), 7)
        match = re.search(r"the key of DOC-CP was destroyed on (\S+Z) \(certificate (\S+)\)", line)
        assert match is not None, line
        # Destroyed when the erase began; recorded in the ledger once certified, later.
        assert payload["started_at"][:19] <= match[1][:19] <= shown["key_erased_by"]["time"]
        assert match[2] == payload["certificate_id"]
        assert not out.exists()


def test_plaintext_canary_is_not_on_the_raw_image_after_seal(
    cli_home: Path, ext4_image: MountedImage
) -> None:
    plain = ext4_image.mount / "secret.txt"
    make_plain(plain, 1 << 20)
    os.sync()
    seal(cli_home, plain)
    unmount(ext4_image)
    assert count_in_file(ext4_image.image, [CANARY]) == {CANARY: 0}


def test_tampered_sealed_files_are_rejected_and_leave_no_output(
    tmp_path: Path, cli_home: Path
) -> None:
    plain = tmp_path / "ledger.xls"
    make_plain(plain, (2 << 20) + 123)
    sealed = Path(seal(cli_home, plain)["sealed_path"])
    data = sealed.read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    cases = {
        "flipped": bytes(flipped),
        "truncated": data[: len(data) - 100],
        "cut-at-chunk": data[: len(data) - 1000 - 16],
        "appended": data + b"\0" * 32,
    }
    for name, damaged in cases.items():
        bad = tmp_path / f"{name}.sealed"
        bad.write_bytes(damaged)
        out = tmp_path / f"{name}.out"
        one_error(run_cli("unseal", bad, "-o", out, home=cli_home), 7)
        assert not out.exists(), name
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_document_sealed_after_a_plaintext_copy_is_clear_and_names_the_copy(
    tmp_path: Path, cli_home: Path
) -> None:
    plain = tmp_path / "minutes.txt"
    make_plain(plain, 64 << 10)
    ok(run_cli("ledger", "register", plain, "--classification", "confidential", "--id",
               "DOC-PC", home=cli_home))  # fmt: skip
    copy = tmp_path / "minutes-copy.txt"
    copy.write_bytes(plain.read_bytes())
    ok(run_cli("ledger", "copy", "DOC-PC", "--to", copy, home=cli_home))
    seal(cli_home, plain, "--doc", "DOC-PC")
    result = destroy(cli_home, "DOC-PC")
    assert not copy.exists()
    payload = certificate(result["certificate"])
    assert payload["sanitization"]["category"] == "Clear"
    assert str(copy) in payload["sanitization"]["category_reason"]
    shown = json.loads(ok(run_cli("ledger", "show", "DOC-PC", "--json", home=cli_home)).out)
    assert shown["status"] == "destroyed" and shown["outstanding"] == []


def test_sweep_crypto_erases_an_expired_sealed_document(tmp_path: Path, cli_home: Path) -> None:
    plain = tmp_path / "contract.pdf"
    make_plain(plain, 256 << 10)
    ok(run_cli("ledger", "register", plain, "--classification", "confidential", "--id",
               "DOC-SW", "--retain-until", "2027-01-01", home=cli_home))  # fmt: skip
    sealed = Path(seal(cli_home, plain, "--doc", "DOC-SW")["sealed_path"])
    stray = tmp_path / "mailed.sealed"
    stray.write_bytes(sealed.read_bytes())
    key = wrapped_key(cli_home, "DOC-SW")

    swept = run_cli("sweep", "--now", "2028-01-01T00:00:00Z", "--json", home=cli_home)
    assert swept.code == 0, swept
    report = json.loads(swept.out)
    assert report["summary"]["destroyed"] == 1
    assert not sealed.exists()
    for path in keystore_files(cli_home):
        assert key not in path.read_bytes(), path
    (item,) = report["items"]
    payload = certificate(item["certificate"])
    assert payload["sanitization"]["method_used"] == "Cryptographic Erase"
    line = one_error(run_cli("unseal", stray, "-o", tmp_path / "out", home=cli_home), 7)
    assert "the key of DOC-SW was destroyed on" in line
