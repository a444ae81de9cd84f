"""The register's index is a cache of the files: rebuilt when missing or damaged, brought
up to date when files come and go or change, and never the judge of a signature."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge.certificates import Certificate, TrustStore, sign_certificate
from expunge.certificates.register import INDEX_NAME, index_written, list_certificates
from expunge.certificates.register_query import Query
from tests.support.tamper_fixtures import (
    STATION,
    STRANGER,
    sample_certificate,
    sample_drive_certificate,
)

TRUST = TrustStore().with_key(STATION.public_key(), "station")


def _write(folder: Path, certificate: Certificate, key: Ed25519PrivateKey = STATION) -> Path:
    path = folder / f"{certificate.certificate_id}.cert.json"
    path.write_bytes(sign_certificate(certificate, key).to_json())
    return path


def _ids(folder: Path, query: Query | None = None) -> list[str]:
    return [r.certificate_id for r in list_certificates(folder, TRUST, query or Query())]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    certificates = tmp_path / "certificates"
    certificates.mkdir()
    _write(certificates, sample_certificate())
    _write(certificates, sample_drive_certificate())
    return certificates


def test_the_serial_and_document_filters(folder: Path) -> None:
    drive = sample_drive_certificate()
    assert _ids(folder, Query(serial="4C530001230915117054")) == [drive.certificate_id]
    assert _ids(folder, Query(serial="4C53")) == []  # a serial matches whole
    assert _ids(folder, Query(doc="DOC-404")) == []


def test_a_missing_or_damaged_index_is_rebuilt_from_the_files(folder: Path) -> None:
    both = _ids(folder)
    assert len(both) == 2 and (folder / INDEX_NAME).exists()
    (folder / INDEX_NAME).unlink()
    assert _ids(folder) == both
    (folder / INDEX_NAME).write_bytes(b"this is not an SQLite database" * 100)
    assert _ids(folder) == both


def test_the_index_follows_the_folder(folder: Path) -> None:
    assert len(_ids(folder)) == 2
    extra = replace(sample_drive_certificate(), certificate_id="01JNK5A0000000000000000001")
    added = _write(folder, extra)
    assert extra.certificate_id in _ids(folder)
    added.unlink()
    assert extra.certificate_id not in _ids(folder)
    # A file replaced by other content (same name) is read again.
    first = next(folder.glob("01JNK4*.cert.json"))
    moved = replace(sample_certificate(), finished_at="2027-01-01T00:00:00Z")
    first.write_bytes(sign_certificate(moved, STATION).to_json())
    os.utime(first, ns=(1, 1))
    (row,) = list_certificates(folder, TRUST, Query(since=1.79e9))
    assert row.finished_at == "2027-01-01T00:00:00Z"


def test_a_lying_index_does_not_make_a_row_verified(folder: Path) -> None:
    stranger = replace(sample_drive_certificate(), certificate_id="01JNK5A0000000000000000002")
    _write(folder, stranger, STRANGER)
    rows = {r.certificate_id: r for r in list_certificates(folder, TRUST, Query())}
    assert rows[stranger.certificate_id].signature == "unknown-key"
    with sqlite3.connect(folder / INDEX_NAME) as db:
        db.execute("UPDATE rows SET outcome = 'success', target = 'forged'")
    again = {r.certificate_id: r for r in list_certificates(folder, TRUST, Query())}
    assert again[stranger.certificate_id].signature == "unknown-key"


def test_a_file_that_is_no_certificate_is_listed_with_its_problem(folder: Path) -> None:
    (folder / "junk.cert.json").write_text("{")
    (row,) = [r for r in list_certificates(folder, TRUST, Query()) if r.problem]
    assert row.name == "junk.cert.json" and row.problem == "not a readable certificate"


def test_a_certificate_written_is_indexed_at_once(folder: Path) -> None:
    assert len(_ids(folder)) == 2
    extra = replace(sample_drive_certificate(), certificate_id="01JNK5A0000000000000000003")
    index_written(_write(folder, extra), extra)
    with sqlite3.connect(folder / INDEX_NAME) as db:
        names = {name for (name,) in db.execute("SELECT name FROM rows")}
    assert f"{extra.certificate_id}.cert.json" in names and len(names) == 3
