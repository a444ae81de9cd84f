"""Generate the certificate tamper fixtures: one file per attack, named after it.

Run from the repository root::

    python tests/support/tamper_fixtures.py [OUTDIR]

OUTDIR defaults to ``tests/unit/certificates/fixtures``. Everything is deterministic (fixed
seeded test keys, fixed times and ids; Ed25519 signatures are deterministic), so the
committed fixtures must equal what this script writes, and a test checks that they do.
The keys are test keys derived from public strings: they protect nothing.

Most attacks alter a genuine envelope. Those named ``signed-*`` are payloads that a
faulty or misused station key signed: the signature verifies, the certificate must not.
``trusted/`` is a trust store laid out by role (the station key at its top, the auditor key
in ``auditors/``); the intruder's and the stranger's keys are deliberately absent.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge.certificates.countersignature import countersign
from expunge.certificates.drive_facts import DriveSubject
from expunge.certificates.dsse import (
    Signature,
    keyid,
    pae,
    sign_certificate,
    sign_envelope,
)
from expunge.certificates.keys import public_key_pem
from expunge.certificates.model import (
    Category,
    Certificate,
    LedgerAnchor,
    Limitation,
    Media,
    MethodUsed,
    Person,
    Sanitization,
)
from expunge.certificates.subjects import (
    FileSubject,
    PassKind,
    PassRecord,
    SubjectRecord,
    VerificationRecord,
)
from expunge.certificates.trust import Role, TrustStore
from expunge.certificates.verified import verify_envelope
from expunge.core.canonical import canonical_bytes

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "certificates" / "fixtures"


def fixed_key(name: str) -> Ed25519PrivateKey:
    """A fixed Ed25519 key whose seed is SHA-256 of a public string: for tests only."""
    seed = hashlib.sha256(f"expunge test key: {name}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


STATION = fixed_key("station")
AUDITOR = fixed_key("auditor")
INTRUDER = fixed_key("intruder")
# The trust of the unit tests: STATION signs certificates, AUDITOR validates them.
TRUST = (
    TrustStore()
    .with_key(STATION.public_key(), "station")
    .with_key(AUDITOR.public_key(), "auditor", Role.AUDITOR)
)
STRANGER = fixed_key("stranger")

FINAL_KEY = hashlib.sha256(b"final pass key").hexdigest()
LONG_NAME = (
    "Überweisungsbelege-2025-страница-"
    "a-very-long-file-name-without-any-spaces-to-wrap-on-0123456789abcdef0123456789.pdf"
)


def passes(size: int, final_key: str | None = FINAL_KEY) -> tuple[PassRecord, ...]:
    """A dod-3 overwrite (c, ~c, random) of ``size`` bytes, every pass complete."""

    def record(index: int, label: str, pattern: str | None, key: str | None) -> PassRecord:
        return PassRecord(
            index=index,
            label=label,
            kind=PassKind.FIXED if pattern else PassKind.RANDOM,
            pattern_hex=pattern,
            key_hex=key,
            size=size,
            bytes_written=size,
            started_at=f"2026-03-02T09:15:{10 * index:02d}.250Z",
            finished_at=f"2026-03-02T09:15:{10 * index + 8:02d}.750Z",
            seconds=8.5,
            throughput=size / 8.5,
            synced=True,
        )

    return (
        record(0, "3a", "3a", None),
        record(1, "c5", "c5", None),
        record(2, "random", None, final_key),
    )


def verification(size: int, mismatches: int = 0) -> VerificationRecord:
    """A NIST sampled read-back of the final pass."""
    blocks = max(size // 4096, 1)
    return VerificationRecord(
        mode="nist",
        pass_index=2,
        seed="5eed" * 8,
        block_size=4096,
        blocks_planned=blocks,
        blocks_checked=blocks,
        bytes_checked=blocks * 4096,
        coverage=0.1,
        mismatches=mismatches,
        mismatching_offsets=(8192,) if mismatches else (),
        read_errors=0,
        digest="d1" * 32,
        cache_bypass="O_DIRECT",
    )


def file_record(path: str, size: int, inode: int, mismatches: int = 0) -> SubjectRecord:
    """One file, overwritten with dod-3, verified, removed."""
    return SubjectRecord(
        subject=FileSubject(
            path=path,
            size=size,
            inode=inode,
            device=2049,
            filesystem="ext4",
            content_blake3=hashlib.sha256(path.encode()).hexdigest(),
            document_id="DOC-2026-0042" if inode == 1001 else None,
        ),
        planned_passes=3,
        passes=passes(size),
        verifications=(verification(size, mismatches),),
        removed=True,
    )


def sample_certificate(mismatches: int = 0) -> Certificate:
    """A directory certificate: two files, dod-3, NIST-sampled verification."""
    folder = "/srv/confidential/reports"
    return Certificate(
        certificate_id="01JNK4ZQ8M7X3V5T9R2W6Y0P1C",
        target=folder,
        issued_at="2026-03-02T09:16:00Z",
        started_at="2026-03-02T09:15:00Z",
        finished_at="2026-03-02T09:15:59.500Z",
        host="wipe-station-1",
        person=Person("Ada Operator", "Records officer", "Example Agency", "Room 4, Bonn"),
        media=Media("Samsung", "MZ-7L3480", "S6EXNG0R123456", "SSD", "file server fs-01", "SECRET"),
        sanitization=Sanitization(
            category=Category.CLEAR,
            category_reason="file overwrite through the filesystem: Clear, not Purge",
            method_used=MethodUsed.OVERWRITE,
            method_name="dod-3",
            method_details="c, ~c, random (DoD 5220.22-M short, as nwipe dodshort)",
            tool_name="expunge",
            tool_version="0.1.0",
            verification_method="nist sampled read-back of the final pass",
            post_classification="UNCLASSIFIED",
        ),
        subjects=(
            file_record(f"{folder}/q3-budget.xlsx", 1_048_576, 1001, mismatches),
            file_record(f"{folder}/{LONG_NAME}", 40_960, 1002),
        ),
        limitations=(
            Limitation(
                "flash-media",
                "the file lives on an SSD: wear levelling may keep old copies",
                "wipe the whole drive or crypto-erase",
                f"{folder}/q3-budget.xlsx",
            ),
        ),
        errors=(),
        interrupted_by=None,
        destination="internal reuse",
        notes="retention expired",
        previous_certificate_sha256="ab" * 32,
        ledger_anchor=LedgerAnchor("ledger-fs01", 41, "cd" * 32),
    )


def sample_drive_certificate() -> Certificate:
    """A whole-drive certificate (one random pass), first of its station's chain."""
    size = 16_000_000_000
    drive = DriveSubject(
        node="/dev/sdz",
        vendor="SanDisk",
        model="Ultra USB 3.0",
        serial="4C530001230915117054",
        wwn=None,
        size=size,
        logical_block_size=512,
        bus="usb",
        removable=True,
        rotational=False,
        identity_token="4C530001230915117054",
    )
    record = SubjectRecord(
        subject=drive,
        planned_passes=1,
        passes=(replace(passes(size)[2], index=0),),
        verifications=(replace(verification(size), pass_index=0),),
        removed=None,
    )
    return replace(
        sample_certificate(),
        certificate_id="01JNK5A0000000000000000000",
        target="/dev/sdz",
        media=Media(
            "SanDisk", "Ultra USB 3.0", drive.serial or "", "USB flash", "desk 12", "SECRET"
        ),
        sanitization=replace(
            sample_certificate().sanitization, method_name="clear", method_details="R"
        ),
        subjects=(record,),
        limitations=(),
        errors=(),
        previous_certificate_sha256=None,
        ledger_anchor=None,
    )


def _replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    """``data`` with the first ``old`` replaced; it must be there, or the attack is void."""
    if old not in data:
        raise ValueError(f"{old!r} not found: the fixture would not test anything")
    return data.replace(old, new, 1)


def _flip_bit(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _envelope_bytes(envelope_dict: dict[str, Any]) -> bytes:
    return canonical_bytes(envelope_dict) + b"\n"


def _signed_raw(payload: bytes) -> bytes:
    """``payload`` exactly as given, validly signed by the station key."""
    return sign_envelope(payload, STATION).to_json()


def _signed_dict(data: dict[str, Any]) -> bytes:
    return _signed_raw(canonical_bytes(data))


def fixtures() -> dict[str, bytes]:
    """Every fixture file, by name."""
    certificate = sample_certificate()
    genuine = sign_certificate(certificate, STATION)
    trusted = {keyid(k.public_key()): k.public_key() for k in (STATION, AUDITOR)}
    auditor = Person("Bea Auditor", "Internal audit", "Example Agency", "Bonn")
    countersigned = countersign(
        verify_envelope(genuine, trusted),
        AUDITOR,
        validator=auditor,
        note="witnessed the wipe",
        signed_at="2026-03-03T10:00:00Z",
    )
    other = sign_certificate(sample_drive_certificate(), STATION)
    other_countersigned = countersign(
        verify_envelope(other, trusted),
        AUDITOR,
        validator=auditor,
        note="validated the drive wipe",
        signed_at="2026-03-03T11:00:00Z",
    )
    data = certificate.to_dict()
    envelope = genuine.to_dict()
    sig = genuine.signatures[0]
    payload = genuine.payload

    added = {**data, "colour": "red"}
    removed = {k: v for k, v in data.items() if k != "host"}
    future = {**data, "version": 2}
    lie = sample_certificate(mismatches=1).to_dict() | {"outcome": "success"}
    forged_counter = countersigned.countersignatures[0]
    forged_counter = replace(
        forged_counter,
        payload=_replace_once(forged_counter.payload, b"witnessed the wipe", b"witnessed nothing!"),
    )
    return {
        "valid.cert.json": genuine.to_json(),
        "valid-countersigned.cert.json": countersigned.to_json(),
        "valid-drive.cert.json": other.to_json(),
        "failed-outcome.cert.json": sign_certificate(
            sample_certificate(mismatches=1), STATION
        ).to_json(),
        "payload-bit-flip.cert.json": replace(genuine, payload=_flip_bit(payload, 40)).to_json(),
        "signature-bit-flip.cert.json": replace(
            genuine, signatures=(Signature(sig.keyid, _flip_bit(sig.sig, 7)),)
        ).to_json(),
        "wrong-key.cert.json": replace(
            genuine,
            signatures=(Signature(sig.keyid, INTRUDER.sign(pae(genuine.payload_type, payload))),),
        ).to_json(),
        "unknown-key.cert.json": sign_envelope(payload, STRANGER).to_json(),
        "changed-payload-type.cert.json": replace(
            genuine, payload_type="application/vnd.in-toto+json"
        ).to_json(),
        "duplicate-key-in-envelope.cert.json": _replace_once(
            _envelope_bytes(envelope),
            b'{"payload":',
            b'{"payloadType":"application/json","payload":',
        ),
        "bad-base64.cert.json": _envelope_bytes({**envelope, "payload": "not*base64!"}),
        "empty-signature-list.cert.json": _envelope_bytes({**envelope, "signatures": []}),
        "truncated.cert.json": genuine.to_json()[: len(genuine.to_json()) // 2],
        "signed-duplicate-key-in-payload.cert.json": _signed_raw(
            _replace_once(payload, b'{"certificate_id":', b'{"host":"elsewhere","certificate_id":')
        ),
        "signed-nan-in-payload.cert.json": _signed_raw(
            _replace_once(payload, b'"coverage":0.1', b'"coverage":NaN')
        ),
        "signed-field-added.cert.json": _signed_dict(added),
        "signed-field-removed.cert.json": _signed_dict(removed),
        "signed-outcome-lie.cert.json": _signed_dict(lie),
        "signed-non-canonical.cert.json": _signed_raw(json.dumps(data, indent=2).encode()),
        "signed-future-schema.cert.json": _signed_dict(future),
        "copied-countersignature.cert.json": replace(
            genuine, countersignatures=other_countersigned.countersignatures
        ).to_json(),
        "forged-countersignature.cert.json": replace(
            countersigned, countersignatures=(forged_counter,)
        ).to_json(),
        "trusted/station.pub": public_key_pem(STATION.public_key()),
        "trusted/auditors/auditor.pub": public_key_pem(AUDITOR.public_key()),
    }


def write(outdir: Path) -> list[Path]:
    """Write every fixture under ``outdir``; return the paths written."""
    written = []
    for name, content in fixtures().items():
        path = outdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    """Command line: ``tamper_fixtures.py [OUTDIR]``."""
    outdir = Path(argv[1]) if len(argv) > 1 else FIXTURES
    for path in write(outdir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
