"""Certificate files: atomic, world-readable, read back strictly."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from expunge.certificates import (
    CertificateError,
    Reason,
    TrustStore,
    read_envelope,
    sign_certificate,
    sign_envelope,
    verify_certificate_file,
    write_envelope,
)
from expunge.core.errors import TargetError
from tests.support.tamper_fixtures import STATION, sample_certificate, sample_drive_certificate


def test_write_then_read_gives_the_same_envelope(tmp_path: Path) -> None:
    envelope = sign_certificate(sample_certificate(), STATION)
    path = tmp_path / "c.cert.json"
    write_envelope(path, envelope)

    assert read_envelope(path) == envelope
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["c.cert.json"]


def test_rewriting_replaces_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "c.cert.json"
    write_envelope(path, sign_certificate(sample_certificate(), STATION))
    second = sign_certificate(sample_drive_certificate(), STATION)
    write_envelope(path, second)
    assert path.read_bytes() == second.to_json()


def test_writing_into_a_missing_folder_is_a_target_error(tmp_path: Path) -> None:
    envelope = sign_certificate(sample_certificate(), STATION)
    with pytest.raises(TargetError, match="cannot write the certificate"):
        write_envelope(tmp_path / "absent" / "c.cert.json", envelope)


def test_reading_problems_are_reported(tmp_path: Path) -> None:
    with pytest.raises(TargetError):
        read_envelope(tmp_path / "absent.json")
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\x01")
    with pytest.raises(CertificateError) as caught:
        read_envelope(garbage)
    assert caught.value.reason is Reason.MALFORMED
    check = verify_certificate_file(tmp_path / "absent.json", TrustStore())
    assert check.reasons[0].reason is Reason.UNREADABLE


def test_reading_another_payload_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "statement.json"
    path.write_bytes(sign_envelope(b"{}", STATION, "application/vnd.in-toto+json").to_json())
    with pytest.raises(CertificateError) as caught:
        read_envelope(path)
    assert caught.value.reason is Reason.WRONG_PAYLOAD_TYPE
    assert str(path) in caught.value.diagnostics()
