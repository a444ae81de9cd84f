"""Every tamper fixture is rejected for its own reason, and the committed ones are current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from expunge.certificates import Reason, load_trust, verify_certificate_file

SCRIPT = Path(__file__).parents[2] / "support" / "tamper_fixtures.py"
COMMITTED = Path(__file__).with_name("fixtures")

# fixture -> (reason, words the message must contain)
EXPECTED: dict[str, tuple[Reason, str]] = {
    "payload-bit-flip.cert.json": (Reason.BAD_SIGNATURE, "does not verify"),
    "signature-bit-flip.cert.json": (Reason.BAD_SIGNATURE, "does not verify"),
    "wrong-key.cert.json": (Reason.BAD_SIGNATURE, "does not verify"),
    "unknown-key.cert.json": (Reason.UNKNOWN_KEY, "not in the trust store"),
    "changed-payload-type.cert.json": (Reason.WRONG_PAYLOAD_TYPE, "application/vnd.in-toto+json"),
    "duplicate-key-in-envelope.cert.json": (Reason.MALFORMED, "duplicate key 'payloadType'"),
    "bad-base64.cert.json": (Reason.MALFORMED, "envelope.payload is not base64"),
    "empty-signature-list.cert.json": (Reason.MALFORMED, "signatures is empty"),
    "truncated.cert.json": (Reason.MALFORMED, "malformed envelope"),
    "signed-duplicate-key-in-payload.cert.json": (
        Reason.INVALID_CERTIFICATE,
        "duplicate key 'host'",
    ),
    "signed-nan-in-payload.cert.json": (Reason.INVALID_CERTIFICATE, "NaN"),
    "signed-field-added.cert.json": (Reason.INVALID_CERTIFICATE, "unknown field 'colour'"),
    "signed-field-removed.cert.json": (Reason.INVALID_CERTIFICATE, "missing field 'host'"),
    "signed-outcome-lie.cert.json": (Reason.INVALID_CERTIFICATE, "outcome says success"),
    "signed-non-canonical.cert.json": (Reason.INVALID_CERTIFICATE, "canonical"),
    "signed-future-schema.cert.json": (Reason.UNSUPPORTED_SCHEMA, "version 2"),
    "failed-outcome.cert.json": (Reason.OUTCOME_NOT_SUCCESS, "outcome failed"),
    "copied-countersignature.cert.json": (
        Reason.COUNTERSIGNATURE_INVALID,
        "validates another certificate",
    ),
    "forged-countersignature.cert.json": (Reason.COUNTERSIGNATURE_INVALID, "does not verify"),
}
VALID = {"valid.cert.json", "valid-countersigned.cert.json", "valid-drive.cert.json"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("fixtures")
    subprocess.run([sys.executable, str(SCRIPT), str(outdir)], check=True, capture_output=True)
    return outdir


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_committed_fixtures_are_what_the_script_generates(generated: Path) -> None:
    assert _files(generated) == _files(COMMITTED)


def test_every_attack_has_an_expectation(generated: Path) -> None:
    names = {p.name for p in generated.glob("*.cert.json")}
    assert names == set(EXPECTED) | VALID


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_attack_is_rejected_with_its_reason(generated: Path, name: str) -> None:
    trust = load_trust([generated / "trusted"])
    check = verify_certificate_file(generated / name, trust)
    reason, words = EXPECTED[name]
    assert not check.ok
    assert check.reasons[0].reason is reason
    assert words in check.reasons[0].message
    assert check.exit_code == (5 if reason is Reason.OUTCOME_NOT_SUCCESS else 7)
    report = json.loads(json.dumps(check.to_dict()))
    assert report["ok"] is False
    assert report["reasons"][0]["reason"] == reason.value


@pytest.mark.parametrize("name", sorted(VALID))
def test_genuine_certificates_verify(generated: Path, name: str) -> None:
    trust = load_trust([generated / "trusted"])
    check = verify_certificate_file(generated / name, trust)
    assert check.reasons == ()
    assert check.ok
    assert check.exit_code == 0
    report = json.loads(json.dumps(check.to_dict()))
    assert report["ok"] is True
    assert report["certificate"]["outcome"] == "success"


def test_no_attack_produces_a_traceback(generated: Path) -> None:
    """Checked in a fresh interpreter: every verdict printed, nothing on stderr."""
    program = (
        "import sys, pathlib\n"
        "from expunge.certificates import load_trust, verify_certificate_file\n"
        "root = pathlib.Path(sys.argv[1])\n"
        "trust = load_trust([root / 'trusted'])\n"
        "for path in sorted(root.glob('*.cert.json')):\n"
        "    check = verify_certificate_file(path, trust)\n"
        "    print(path.name, check.ok, [f.reason.value for f in check.reasons])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, str(generated)], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == len(EXPECTED) + len(VALID)
