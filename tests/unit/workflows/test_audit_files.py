"""The certificate files an audit reads: held by name, in name order, and those the
ledger does not cite picked out without a path made for the others."""

from __future__ import annotations

from pathlib import Path

from expunge.workflows.audit.files import CertificateFiles, uncited
from expunge.workflows.audit.run import certificate_paths


def test_a_folder_is_listed_by_name_in_order(tmp_path: Path) -> None:
    for name in ("B.cert.json", "A.cert.json", "notes.txt"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "C.cert.json").mkdir()  # not a file
    files = certificate_paths(tmp_path)
    assert files.names == ("A.cert.json", "B.cert.json")
    assert len(files) == 2 and list(files) == [tmp_path / "A.cert.json", tmp_path / "B.cert.json"]
    assert len(certificate_paths(tmp_path / "absent")) == 0


def test_only_uncited_certificates_are_given_as_paths(tmp_path: Path) -> None:
    files = CertificateFiles(tmp_path, ("A.cert.json", "B.cert.json", "C.cert.json"))
    assert list(files.uncited({"B", "C.cert.json"})) == [
        tmp_path / "A.cert.json",
        tmp_path / "C.cert.json",
    ]


def test_paths_given_otherwise_are_filtered_alike(tmp_path: Path) -> None:
    given = [tmp_path / "A.cert.json", tmp_path / "B.cert.json", tmp_path / "B"]
    assert list(uncited(given, {"B"})) == [tmp_path / "A.cert.json", tmp_path / "B"]
