"""The trust store: keys from files and folders, bad folder entries reported, not fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from expunge.certificates import (
    Reason,
    keyid,
    load_trust,
    public_key_pem,
    sign_certificate,
    verify_certificate,
)
from expunge.core.errors import UsageError
from tests.support.tamper_fixtures import AUDITOR, STATION, STRANGER, sample_certificate


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "trusted"
    (folder / "auditors").mkdir(parents=True)
    (folder / "station.pub").write_bytes(public_key_pem(STATION.public_key()))
    (folder / "auditors" / "auditor.pem").write_bytes(public_key_pem(AUDITOR.public_key()))
    (folder / "notes.txt").write_text("not a key")
    (folder / ".hidden").write_text("ignored")
    (folder / "sub").mkdir()
    return folder


def test_folder_keys_are_loaded_by_role_and_bad_files_reported(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "stations").mkdir()
    other = STRANGER.public_key()
    (folder / "stations" / "second.pub").write_bytes(public_key_pem(other))
    trust = load_trust([folder])

    assert set(trust.station_keys) == {keyid(STATION.public_key()), keyid(other)}
    assert set(trust.auditor_keys) == {keyid(AUDITOR.public_key())}
    assert [p.path for p in trust.problems] == [str(tmp_path / "trusted" / "notes.txt")]
    assert "not a PEM public key" in trust.problems[0].message


def test_auditor_sources_give_auditor_keys_only(tmp_path: Path) -> None:
    auditor = tmp_path / "auditor.pub"
    auditor.write_bytes(public_key_pem(AUDITOR.public_key()))
    trust = load_trust([], auditors=[auditor])
    assert trust.station_keys == {}
    assert set(trust.auditor_keys) == {keyid(AUDITOR.public_key())}
    envelope = sign_certificate(sample_certificate(), AUDITOR).to_json()
    assert verify_certificate(envelope, trust).reasons[0].reason is Reason.UNKNOWN_KEY


def test_trust_decides_unknown_key(tmp_path: Path) -> None:
    envelope = sign_certificate(sample_certificate(), STATION).to_json()
    auditor_only = tmp_path / "auditor.pub"
    auditor_only.write_bytes(public_key_pem(AUDITOR.public_key()))

    assert verify_certificate(envelope, load_trust([_folder(tmp_path)])).ok
    check = verify_certificate(envelope, load_trust([auditor_only]))
    assert check.reasons[0].reason is Reason.UNKNOWN_KEY
    assert "--trust" in (check.reasons[0].remedy or "")


def test_repeated_sources_merge_without_duplicates(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    trust = load_trust([folder, folder / "station.pub"])
    assert len(trust.keys) == 2
    # One key may hold both roles; each role keeps it once.
    both = load_trust([folder], auditors=[folder / "station.pub"])
    assert len(both.keys) == 3


def test_a_named_bad_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "key.pub"
    bad.write_text("hello")
    with pytest.raises(UsageError, match="not a PEM public key"):
        load_trust([bad])


def test_a_missing_source_is_an_error_unless_optional(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such trusted key or folder"):
        load_trust([tmp_path / "absent"])
    assert load_trust([tmp_path / "absent"], missing_ok=True).keys == ()
