"""The audit of a large ledger verifies certificates in worker processes; it must find
exactly what the single-process audit finds."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge.certificates import (
    Envelope,
    TrustStore,
    new_certificate_id,
    sign_certificate,
    sign_envelope,
)
from expunge.certificates.subjects import FileSubject
from expunge.core.config import Home, StationSettings
from expunge.ledger.events import Destroy, Event, Register
from expunge.shred.methods import choose_method
from expunge.workflows import audit, certify, destroy, records
from tests.support.records import record_of, rewrite

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
DOCUMENTS = 2100  # above the size from which the audit forks workers
DIGEST = "cd" * 32


@pytest.fixture(scope="module")
def big_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, TrustStore]:
    folder = tmp_path_factory.mktemp("big")
    home = Home(folder / "home").ensure()
    station = certify.Station.open(home, StationSettings(operator="tester"), None)
    sample = folder / "sample.txt"
    sample.write_bytes(b"x" * 4096)
    request = destroy.ShredRequest(paths=(str(sample),), method=choose_method(None, None, False))
    (done,) = destroy.shred_paths(request, station)
    assert done.certificate is not None
    base = done.certificate.certificate
    done.certificate.path.unlink()  # only its form is used
    record = base.subjects[0]
    assert isinstance(record.subject, FileSubject)
    with records.create_ledger(home, station) as store:
        registers: list[Event] = [
            Register(f"D{n}", "t", "secret", "alice", f"/docs/D{n}", 4096, DIGEST)
            for n in range(DOCUMENTS)
        ]
        store.append_many(registers, actor="tester", now=NOW)
        anchor = records.current_anchor(store)
        destroys: list[Event] = []
        for n in range(DOCUMENTS):
            subject = replace(
                record.subject, path=f"/docs/D{n}", document_id=f"D{n}", content_blake3=DIGEST
            )
            certificate = replace(
                base,
                certificate_id=new_certificate_id(NOW),
                subjects=(replace(record, subject=subject),),
                ledger_anchor=anchor,
            )
            envelope = sign_certificate(certificate, station.key)
            destroys.append(
                Destroy(
                    f"D{n}",
                    "clear",
                    certificate.certificate_id,
                    envelope.payload_sha256,
                    envelope.to_dict(),
                    paths=(f"/docs/D{n}",),
                )
            )
        store.append_many(destroys, actor="tester", now=NOW)
    trust = TrustStore().with_key(station.key.public_key(), "station")
    return home, trust


def _run(home: Home, trust: TrustStore, workers: int) -> audit.AuditReport:
    return audit.audit_station(home, trust, now=NOW, workers=workers)


def test_parallel_and_serial_audits_agree(big_home: tuple[Home, TrustStore]) -> None:
    home, trust = big_home
    serial = _run(home, trust, 1)
    parallel = _run(home, trust, 2)
    assert serial.ok and parallel.ok, serial.problems[:3]
    assert serial.to_dict() == parallel.to_dict()
    assert parallel.certificates_verified == DOCUMENTS
    assert parallel.destroyed == DOCUMENTS


def test_parallel_audit_names_a_forged_certificate(
    big_home: tuple[Home, TrustStore], tmp_path: Path
) -> None:
    home, trust = big_home
    copy = Home(tmp_path / "home")
    copy.root.mkdir()
    for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm"):
        if (home.root / name).exists():
            (copy.root / name).write_bytes((home.root / name).read_bytes())
    seq = DOCUMENTS + 1500
    entry = record_of(copy.ledger_path, seq)
    event = entry["event"]
    assert isinstance(event, dict)
    genuine = Envelope.from_dict(event["envelope"])
    event["envelope"] = sign_envelope(genuine.payload, Ed25519PrivateKey.generate()).to_dict()
    rewrite(copy.ledger_path, seq, entry)
    for workers in (1, 2):
        report = _run(copy, trust, workers)
        # The rewritten entry was relinked, so the chain holds; the station's signature over
        # the batch it belongs to does not.
        assert [(p.seq, p.kind) for p in report.problems] == [
            (seq, "certificate"),
            (2 * DOCUMENTS, "bad-entry-signature"),
        ]
        assert "unknown-key" in report.problems[0].message


@pytest.fixture(scope="module")
def per_command_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, TrustStore]:
    """A ledger appended one entry per transaction (as one command each): one station
    signature per entry, enough for the audit to verify them in workers."""
    home = Home(tmp_path_factory.mktemp("percommand") / "home").ensure()
    station = certify.Station.open(home, StationSettings(operator="tester"), None)
    with records.create_ledger(home, station) as store:
        for n in range(DOCUMENTS):
            store.append(
                Register(f"D{n}", "t", "secret", "alice", f"/docs/D{n}", 1, DIGEST),
                actor="tester",
                now=NOW,
            )
    return home, TrustStore().with_key(station.key.public_key(), "station")


def test_entry_signatures_verified_in_workers_agree_and_catch_a_forgery(
    per_command_home: tuple[Home, TrustStore], tmp_path: Path
) -> None:
    home, trust = per_command_home
    serial, parallel = _run(home, trust, 1), _run(home, trust, 2)
    assert serial.ok and parallel.ok
    assert serial.to_dict() == parallel.to_dict()
    assert parallel.chain.authenticity.signatures_verified == DOCUMENTS

    copy = Home(tmp_path / "home")
    shutil.copytree(home.root, copy.root)
    # A genuine signature moved onto an entry it was not made for.
    donor, victim = record_of(copy.ledger_path, 7), record_of(copy.ledger_path, 1500)
    victim["signature"] = donor["signature"] | {"from_seq": 1500}
    rewrite(copy.ledger_path, 1500, victim)
    for workers in (1, 2):
        found = [(p.seq, p.kind) for p in _run(copy, trust, workers).problems]
        assert (1500, "bad-entry-signature") in found
        # Relinked after it, every later signature fails too: none is taken as verified.
        assert (DOCUMENTS, "anchor-mismatch") in found  # the head record remembers 2100
        assert len(found) == DOCUMENTS - 1500 + 1 + 1  # signatures 1500..2100, and that
