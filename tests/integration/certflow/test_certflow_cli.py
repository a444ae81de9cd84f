"""From shred to an auditor's verdict, through the commands people type."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from expunge.certificates import (
    Envelope,
    Person,
    Validation,
    keyid,
    load_private_key,
    sign_envelope,
    verify_envelope,
)
from expunge.certificates.countersignature import VALIDATION_PAYLOAD_TYPE
from expunge.shred.patterns import PassPattern, expected_bytes
from tests.support import need_tool, run_cli
from tests.support.json_output import report_json

NOON = "2026-03-03T12:00:00Z"


def shred_one(tmp_path: Path, home: Path, *args: str) -> tuple[Path, dict[str, object]]:
    """Shred a fresh 1 MiB file; return the certificate path and the JSON report."""
    target = tmp_path / "minutes.txt"
    target.write_bytes(b"CONFIDENTIAL minutes\n" * 50_000)
    result = run_cli("shred", target, "--json", *args, home=home)
    assert result.code == 0, result
    (report,) = report_json(result, "shred")["items"]
    return Path(report["certificate"]), report


def test_shred_certificate_verifies_offline_with_the_exported_key(
    tmp_path: Path, cli_home: Path
) -> None:
    cert, report = shred_one(tmp_path, cli_home)
    assert report["certificate_outcome"] == "success"
    assert cert.parent == cli_home / "certificates"
    assert "created the station key" in run_cli("key", "show", home=cli_home).out or True

    exported = tmp_path / "station.pub"
    assert run_cli("key", "export", "-o", exported, home=cli_home).code == 0
    auditor_home = tmp_path / "auditor"
    ok = run_cli("cert", "verify", cert, "--trust", exported, home=auditor_home)
    assert ok.code == 0, ok
    assert "OK:" in ok.out

    # An auditor who does not trust the station's key gets a clear refusal.
    unknown = run_cli("cert", "verify", cert, home=auditor_home)
    assert unknown.code == 7
    assert "unknown-key" in unknown.out


def test_tampered_certificate_is_rejected(tmp_path: Path, cli_home: Path) -> None:
    cert, _ = shred_one(tmp_path, cli_home)
    envelope = json.loads(cert.read_bytes())
    payload = json.loads(base64.b64decode(envelope["payload"]))
    payload["target"] = "/somewhere/else"
    envelope["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    cert.write_text(json.dumps(envelope))
    result = run_cli("cert", "verify", cert, home=cli_home)
    assert result.code == 7
    assert "bad-signature" in result.out
    assert "Traceback" not in result.err + result.out


def test_unverified_shred_never_gets_a_success_certificate(tmp_path: Path, cli_home: Path) -> None:
    cert, report = shred_one(tmp_path, cli_home, "--verify", "none")
    assert report["certificate_outcome"] != "success"
    result = run_cli("cert", "verify", cert, home=cli_home)
    assert result.code == 5
    assert "outcome-not-success" in result.out


def test_certificate_chain_links_each_to_the_previous(tmp_path: Path, cli_home: Path) -> None:
    first, _ = shred_one(tmp_path, cli_home)
    second, _ = shred_one(tmp_path, cli_home)
    one = run_cli("cert", "show", first, "--json", home=cli_home)
    two = run_cli("cert", "show", second, "--json", home=cli_home)
    assert (
        json.loads(two.out)["certificate"]["previous_certificate_sha256"]
        == json.loads(one.out)["certificate_sha256"]
    )


def test_pdf_certificate_carries_the_nist_fields(tmp_path: Path, cli_home: Path) -> None:
    pdftotext = need_tool("pdftotext")
    cert, _ = shred_one(tmp_path, cli_home)
    pdf = tmp_path / "certificate.pdf"
    assert run_cli("cert", "show", cert, "--pdf", pdf, home=cli_home).code == 0
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    for needle in ("minutes.txt", "clear", "SUCCESS", "Clear", "Overwrite"):
        assert needle in text, needle


def test_countersignature_by_an_auditor(tmp_path: Path, cli_home: Path) -> None:
    cert, _ = shred_one(tmp_path, cli_home)
    auditor_home = tmp_path / "auditor-home"
    assert run_cli("key", "init", home=auditor_home).code == 0
    auditor_pub = tmp_path / "auditor.pub"
    run_cli("key", "export", "-o", auditor_pub, home=auditor_home)
    station_pub = cli_home / "station.pub"

    missing = run_cli(
        "cert", "verify", cert, "--require-countersign", "--trust", station_pub, home=cli_home
    )
    assert missing.code == 7 and "countersignature-missing" in missing.out

    signed = run_cli(
        "cert", "countersign", cert, "--key", auditor_home / "station.key",
        "--note", "checked serials against the asset register", "--in-place", home=cli_home,
    )  # fmt: skip
    assert signed.code == 0, signed
    both = run_cli(
        "cert", "verify", cert, "--require-countersign",
        "--trust", station_pub, "--trust-auditor", auditor_pub, home=cli_home,
    )  # fmt: skip
    assert both.code == 0, both
    assert "countersigned by" in both.out

    # Trusted as a station, the same key signs; it does not validate.
    as_station = run_cli(
        "cert", "verify", cert, "--require-countersign",
        "--trust", station_pub, "--trust", auditor_pub, home=cli_home,
    )  # fmt: skip
    assert as_station.code == 7 and "countersignature-missing" in as_station.out

    # The home's trust store works the same way: auditors live in trusted/auditors/.
    (cli_home / "trusted" / "auditors").mkdir(parents=True)
    (cli_home / "trusted" / "auditors" / "bea.pub").write_bytes(auditor_pub.read_bytes())
    by_default = run_cli("cert", "verify", cert, "--require-countersign", home=cli_home)
    assert by_default.code == 0, by_default


def test_a_certificate_signed_by_an_auditor_key_is_refused(tmp_path: Path, cli_home: Path) -> None:
    auditor_home = tmp_path / "auditor-home"
    cert, _ = shred_one(tmp_path, auditor_home)  # the auditor's key, used as a station's
    auditor_pub = tmp_path / "auditor.pub"
    assert run_cli("key", "export", "-o", auditor_pub, home=auditor_home).code == 0
    (cli_home / "trusted" / "auditors").mkdir(parents=True)
    (cli_home / "trusted" / "auditors" / "bea.pub").write_bytes(auditor_pub.read_bytes())
    assert run_cli("key", "init", home=cli_home).code == 0
    station_pub = cli_home / "station.pub"

    for args in ((), ("--trust", station_pub, "--trust-auditor", auditor_pub)):
        refused = run_cli("cert", "verify", cert, *args, home=cli_home)
        assert refused.code == 7, refused
        assert "unknown-key" in refused.out


def test_a_countersignature_by_the_stations_own_key_never_satisfies(
    tmp_path: Path, cli_home: Path
) -> None:
    cert, _ = shred_one(tmp_path, cli_home)
    data = json.loads(cert.read_bytes())
    key = load_private_key(cli_home / "station.key", None)
    verified = verify_envelope(
        Envelope.from_dict(data), {keyid(key.public_key()): key.public_key()}
    )
    statement = Validation(
        verified.digest, verified.certificate.certificate_id, Person("S", "", "", ""), "", NOON
    )
    nested = sign_envelope(statement.canonical(), key, VALIDATION_PAYLOAD_TYPE)
    data["countersignatures"] = [nested.to_dict()]
    cert.write_text(json.dumps(data))
    # Even with the station key also listed as an auditor's.
    (cli_home / "trusted" / "auditors").mkdir(parents=True)
    (cli_home / "trusted" / "auditors" / "self.pub").write_bytes(
        (cli_home / "station.pub").read_bytes()
    )
    result = run_cli("cert", "verify", cert, "--require-countersign", home=cli_home)
    assert result.code == 7, result
    assert "countersignature-invalid" in result.out and "own signing key" in result.out


def test_key_init_refuses_to_replace_a_key(cli_home: Path) -> None:
    assert run_cli("key", "init", home=cli_home).code == 0
    before = (cli_home / "station.key").read_bytes()
    again = run_cli("key", "init", home=cli_home)
    assert again.code != 0 and len(again.err.strip().splitlines()) == 1
    assert (cli_home / "station.key").read_bytes() == before
    assert os.stat(cli_home / "station.key").st_mode & 0o777 == 0o600


def test_encrypted_station_key_needs_its_passphrase(tmp_path: Path, cli_home: Path) -> None:
    secret = tmp_path / "pass"
    secret.write_text("correct horse battery staple\n")
    assert run_cli("key", "init", "--passphrase-file", secret, home=cli_home).code == 0
    assert b"ENCRYPTED" in (cli_home / "station.key").read_bytes()
    target = tmp_path / "doc"
    target.write_bytes(b"x" * 10_000)
    refused = run_cli("shred", target, home=cli_home)
    assert refused.code == 2 and "passphrase" in refused.err
    assert target.read_bytes() == b"x" * 10_000
    env_ok = subprocess.run(
        [sys.executable, "-m", "expunge", "shred", str(target)],
        env={**os.environ, "EXPUNGE_HOME": str(cli_home),
             "EXPUNGE_KEY_PASSPHRASE": "correct horse battery staple"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert env_ok.returncode == 0, env_ok.stderr
    assert not target.exists()


def test_verify_against_the_certificate_catches_a_changed_block(
    tmp_path: Path, cli_home: Path
) -> None:
    target = tmp_path / "kept.bin"
    target.write_bytes(os.urandom(2 << 20))
    result = run_cli("shred", target, "--keep", "--json", home=cli_home)
    assert result.code == 0, result
    cert = Path(report_json(result, "shred")["items"][0]["certificate"])
    shown = json.loads(run_cli("cert", "show", cert, "--json", home=cli_home).out)
    final = shown["certificate"]["subjects"][0]["passes"][-1]
    key = bytes.fromhex(final["key_hex"])
    # The certificate's key regenerates exactly what is on disk.
    assert target.read_bytes() == expected_bytes(PassPattern.random(key), 0, 2 << 20)

    assert run_cli("verify", target, "--cert", cert, home=cli_home).code == 0
    with open(target, "r+b") as f:
        f.seek(1_000_000)
        f.write(b"\0" * 4096)
    caught = run_cli("verify", target, "--cert", cert, "--mode", "full", home=cli_home)
    assert caught.code == 5, caught
    assert "MISMATCH" in caught.out


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("verify", "/nonexistent-expunge-test"), 2, "--expect"),
        (("verify", "/nonexistent-expunge-test", "--key", "abcd"), 2, "32 bytes"),
        (("cert", "verify", "/nonexistent/c.json"), 4, "unreadable"),
        (("key", "show"), 4, "station.key"),  # a missing key is a target problem
    ],
)
def test_bad_inputs_get_one_line_and_a_code(
    cli_home: Path, args: tuple[str, ...], code: int, needle: str
) -> None:
    result = run_cli(*args, home=cli_home)
    assert result.code == code, result
    assert needle in result.err + result.out
    assert "Traceback" not in result.err


def test_the_quick_start_demo_destroys_certifies_and_records(cli_home: Path) -> None:
    result = run_cli("demo", "--size", str(2 << 20), home=cli_home)
    assert result.code == 0, result
    assert "verification success" in result.out
    assert "verified it with the station's public key: VALID" in result.out
    assert "created the station key" in result.err
    (cert,) = (cli_home / "certificates").glob("*.cert.json")
    assert run_cli("cert", "verify", cert, "--trust", cli_home / "station.pub").code == 0
    assert run_cli("audit", home=cli_home).code == 0
    listed = report_json(run_cli("ledger", "list", "--json", home=cli_home), "ledger-list")["items"]
    assert [d["status"] for d in listed] == ["destroyed"]
