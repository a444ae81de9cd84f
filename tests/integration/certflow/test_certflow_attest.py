"""``cert attest``, ``key show`` and ``cert schema`` on a station's real key and certificates."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from in_toto.models.metadata import Metadata
from securesystemslib.signer import SSlibKey

from expunge.certificates.schemas import SCHEMA_NAMES, schema_text
from tests.support import run_cli
from tests.support.json_output import report_json


def _shred(tmp_path: Path, home: Path) -> tuple[Path, Path]:
    target = tmp_path / "budget.xlsx"
    target.write_bytes(b"CONFIDENTIAL budget\n" * 1000)
    result = run_cli("shred", target, "--fingerprint", "--json", home=home)
    assert result.code == 0, result
    (report,) = report_json(result, "shred")["items"]
    return Path(report["certificate"]), target


def test_attestation_of_a_shred_verifies_with_in_toto_under_key_shows_keyid(
    tmp_path: Path, cli_home: Path
) -> None:
    cert, target = _shred(tmp_path, cli_home)
    out = tmp_path / "budget.intoto.json"
    made = run_cli("cert", "attest", cert, "-o", out, home=cli_home)
    assert made.code == 0, made
    assert made.out == f"wrote {out}\n"

    public = load_pem_public_key((cli_home / "station.pub").read_bytes())
    key = SSlibKey.from_crypto(public)  # type: ignore[arg-type]
    envelope = Metadata.load(str(out))
    assert set(envelope.verify([key], 1)) == {key.keyid}

    shown = run_cli("key", "show", home=cli_home)
    assert shown.code == 0, shown
    assert f"securesystemslib keyid: {key.keyid}" in shown.out
    assert "OpenSSH fingerprint:    SHA256:" in shown.out
    as_json = json.loads(run_cli("key", "show", "--json", home=cli_home).out)
    assert as_json["securesystemslib_keyid"] == key.keyid

    statement = json.loads(base64.b64decode(json.loads(out.read_bytes())["payload"]))
    (subject,) = statement["subject"]
    assert subject["name"] == str(target)
    certificate = json.loads(run_cli("cert", "show", cert, "--json", home=cli_home).out)
    assert statement["predicate"] == certificate["certificate"]
    assert (
        subject["annotations"]["content_blake3"]
        == (certificate["certificate"]["subjects"][0]["subject"]["content_blake3"])
    )


def test_attest_refuses_what_the_station_cannot_vouch_for(tmp_path: Path, cli_home: Path) -> None:
    cert, _ = _shred(tmp_path, cli_home)
    # Another station: the certificate is not signed by a key it trusts (exit 7) ...
    other = tmp_path / "other-home"
    assert run_cli("key", "init", home=other).code == 0
    untrusted = run_cli("cert", "attest", cert, "-o", tmp_path / "x.json", home=other)
    assert untrusted.code == 7, untrusted
    assert "not in the trust store" in untrusted.err
    # ... and trusting it does not make that station's key the signer's (exit 3).
    trusting = run_cli(
        "cert", "attest", cert, "-o", tmp_path / "x.json",
        "--trust", cli_home / "station.pub", home=other,
    )  # fmt: skip
    assert trusting.code == 3, trusting
    assert "did not sign the certificate" in trusting.err
    assert not (tmp_path / "x.json").exists()
    assert "Traceback" not in untrusted.err + trusting.err


def test_cert_schema_prints_each_published_schema() -> None:
    for name in SCHEMA_NAMES:
        result = run_cli("cert", "schema", name)
        assert result.code == 0, result
        assert result.out == schema_text(name)
        assert json.loads(result.out)["$schema"].endswith("/2020-12/schema")
    assert run_cli("cert", "schema").out == schema_text("certificate")
    wrong = run_cli("cert", "schema", "ledger")
    assert wrong.code == 2 and "Traceback" not in wrong.err
