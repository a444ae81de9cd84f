"""How fast an auditor verifies certificates: ``cert verify`` of 1,000 files in one process.

Run: ``python benchmarks/bench_certificates.py [--count N] [--files-per-certificate K]``.
The verification of all N is timed ``--repeat`` times; the best run is the figure (other
processes on a shared machine only ever slow a run down), the median is shown beside it.
Each certificate is a typical ``expunge shred`` record (one file, the default ``clear``
method, NIST-sampled verification) with its own id, path and key; all are signed by one
station key, written to a temporary folder, then verified from disk: read, strict envelope
parse, Ed25519 over the PAE, strict certificate parse, canonical-form check. The goal is
at least 5,000 certificates per second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge.certificates import (
    Category,
    Certificate,
    FileSubject,
    Media,
    MethodUsed,
    PassKind,
    PassRecord,
    Person,
    Sanitization,
    SubjectRecord,
    TrustStore,
    VerificationRecord,
    new_certificate_id,
    sign_certificate,
    verify_certificate_file,
    write_envelope,
)
from expunge.core.clock import rfc3339

GOAL = 5_000


def _record(path: str, size: int, moment: datetime) -> SubjectRecord:
    blocks = size // 4096
    return SubjectRecord(
        subject=FileSubject(path, size, 100_000 + blocks, 2049, "ext4", None, None),
        planned_passes=1,
        passes=(
            PassRecord(
                index=0,
                label="random",
                kind=PassKind.RANDOM,
                pattern_hex=None,
                key_hex=os.urandom(32).hex(),
                size=size,
                bytes_written=size,
                started_at=rfc3339(moment),
                finished_at=rfc3339(moment + timedelta(seconds=0.25)),
                seconds=0.25,
                throughput=size / 0.25,
                synced=True,
            ),
        ),
        verifications=(
            VerificationRecord(
                mode="nist",
                pass_index=0,
                seed=os.urandom(16).hex(),
                block_size=4096,
                blocks_planned=blocks,
                blocks_checked=blocks,
                bytes_checked=blocks * 4096,
                coverage=0.1,
                mismatches=0,
                mismatching_offsets=(),
                read_errors=0,
                digest=os.urandom(32).hex(),
                cache_bypass="O_DIRECT",
            ),
        ),
        removed=True,
    )


def make_certificate(number: int, files: int, previous: str | None) -> Certificate:
    """The ``number``-th certificate of a station's chain."""
    moment = datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(minutes=number)
    stamp = rfc3339(moment)
    return Certificate(
        certificate_id=new_certificate_id(moment),
        target=f"/srv/archive/{number:05}",
        issued_at=stamp,
        started_at=stamp,
        finished_at=stamp,
        host="wipe-station-1",
        person=Person("Ada Operator", "Records officer", "Example Agency", "Room 4"),
        media=Media("", "", "", "file on SSD", "file server fs-01", "SECRET"),
        sanitization=Sanitization(
            category=Category.CLEAR,
            category_reason="file overwrite through the filesystem",
            method_used=MethodUsed.OVERWRITE,
            method_name="clear",
            method_details="R (NIST SP 800-88 Rev. 2 Clear)",
            tool_name="expunge",
            tool_version="0.1.0",
            verification_method="nist sampled read-back",
            post_classification="UNCLASSIFIED",
        ),
        subjects=tuple(
            _record(f"/srv/archive/{number:05}/part-{k}.pdf", 4096 * (256 + number + k), moment)
            for k in range(files)
        ),
        limitations=(),
        errors=(),
        interrupted_by=None,
        destination="internal reuse",
        notes="",
        previous_certificate_sha256=previous,
    )


def main() -> None:
    """Write ``--count`` signed certificates, then time verifying them all from disk."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000)
    parser.add_argument("--files-per-certificate", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (best is reported)")
    args = parser.parse_args()

    key = Ed25519PrivateKey.generate()
    trust = TrustStore().with_key(key.public_key(), "station")
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        previous = None
        for number in range(args.count):
            envelope = sign_certificate(
                make_certificate(number, args.files_per_certificate, previous), key
            )
            previous = envelope.payload_sha256
            path = Path(folder) / f"{number:05}.cert.json"
            write_envelope(path, envelope)
            paths.append(path)

        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            checks = [verify_certificate_file(path, trust) for path in paths]
            times.append(time.perf_counter() - start)
            failed = [c for c in checks if not c.ok]
            if failed:
                raise SystemExit(f"{len(failed)} did not verify: {failed[0].reasons}")

    best = len(paths) / min(times)
    median = len(paths) / statistics.median(times)
    verdict = "meets" if best >= GOAL else "misses"
    print(
        f"verified {len(paths)} certificates ({args.files_per_certificate} file(s) each),"
        f" {args.repeat} runs: best {min(times):.3f} s = {best:,.0f} certificates/s,"
        f" median {median:,.0f}/s ({verdict} the goal of {GOAL:,}/s)"
    )


if __name__ == "__main__":
    main()
