"""The verification report: computed status, strict JSON form, detection probability."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import blake3
import pytest

from expunge.core.canonical import canonical_bytes, strict_loads
from expunge.core.errors import IntegrityError
from expunge.verify.detection import detection_probability, detection_table
from expunge.verify.plan import make_plan
from expunge.verify.report import VerificationReport, digest_record, sample_digest

T0 = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _report(**changes: object) -> VerificationReport:
    base = VerificationReport(
        mode="nist",
        seed="00" * 32,
        block_size=57344,
        align=4096,
        requested_coverage=None,
        target_size=1 << 30,
        observed_size=1 << 30,
        pattern="random",
        blocks_planned=2002,
        blocks_checked=2002,
        bytes_checked=2002 * 57344,
        mismatches=(),
        read_errors=(),
        digest="ab" * 32,
        cache_bypass="O_DIRECT",
        started=T0,
        ended=T0 + timedelta(seconds=0.2),
        duration_s=0.2,
        interrupted=False,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_status_is_success_only_when_everything_was_read_and_matched() -> None:
    assert _report().status == "success"
    assert _report().ok
    assert _report(mismatches=(4096,)).status == "failed"
    assert _report(mismatches=(0,), read_errors=((0, "EIO: Input/output error"),)).status == (
        "failed"
    )
    assert _report(interrupted=True).status == "failed"
    assert _report(blocks_checked=2001).status == "failed"
    assert _report(observed_size=(1 << 30) - 4096).status == "failed"
    assert _report(mode="none", blocks_planned=0, blocks_checked=0).status == "skipped"


def test_coverage_is_bytes_checked_over_target_size() -> None:
    assert _report().coverage == pytest.approx(2002 * 57344 / (1 << 30))
    assert _report(mode="none").coverage == 0.0
    empty = _report(target_size=0, observed_size=0, blocks_planned=0, blocks_checked=0)
    assert empty.coverage == 1.0 and empty.status == "success"


def test_round_trip_through_canonical_json() -> None:
    report = _report(
        mismatches=(0, 57344),
        read_errors=((57344, "EIO: Input/output error"),),
        requested_coverage=12.5,
    )
    data = strict_loads(canonical_bytes(report.to_dict()))
    assert VerificationReport.from_dict(data) == report
    assert data["status"] == "failed"
    assert data["started"] == "2026-05-01T12:00:00.123456Z"
    # a whole-number float comes back from JSON as an integer and is still accepted
    whole = _report(duration_s=1.0, requested_coverage=10.0)
    assert VerificationReport.from_dict(json.loads(json.dumps(whole.to_dict()))) == whole


@pytest.mark.parametrize(
    "change",
    [
        {"extra": 1},
        {"status": "success", "mismatches": [0]},
        {"coverage": 0.5},
        {"mode": "fast"},
        {"cache_bypass": "hope"},
        {"digest": "AB" * 32},
        {"seed": "xyz"},
        {"mismatches": [8192, 0]},
        {"read_errors": [{"offset": 0, "error": "EIO"}]},
        {"read_errors": [{"offset": 0}]},
        {"blocks_checked": True},
        {"blocks_checked": -1},
        {"blocks_checked": 3000},
        {"interrupted": 0},
        {"started": "2026-05-01 12:00:00"},
        {"ended": "2026-04-01T12:00:00.000000Z"},
    ],
)
def test_from_dict_rejects_anything_unexpected(change: dict[str, object]) -> None:
    data = {**_report().to_dict(), **change}
    with pytest.raises(IntegrityError):
        VerificationReport.from_dict(data)


def test_from_dict_rejects_missing_keys() -> None:
    for key in _report().to_dict():
        data = _report().to_dict()
        del data[key]
        with pytest.raises(IntegrityError):
            VerificationReport.from_dict(data)


def test_the_report_replays_its_plan() -> None:
    plan = make_plan(1 << 30, "quick", coverage=2.5, seed=bytes(range(32)))
    report = _report(
        mode="quick",
        seed=plan.seed_hex,
        block_size=plan.block_size,
        requested_coverage=2.5,
    )
    assert report.plan() == plan


def test_digest_encoding_is_offset_then_hash() -> None:
    hash_a, hash_b = blake3.blake3(b"a").digest(), blake3.blake3(b"b").digest()
    assert digest_record(4096, hash_a) == (4096).to_bytes(8, "big") + hash_a
    expected = blake3.blake3((0).to_bytes(8, "big") + hash_a + (4096).to_bytes(8, "big") + hash_b)
    assert sample_digest([(0, hash_a), (4096, hash_b)]) == expected.hexdigest()


def test_detection_probability() -> None:
    assert detection_probability(0, 0.5) == 0.0
    assert detection_probability(1, 0.5) == 0.5
    assert detection_probability(2000, 0.0) == 0.0
    assert detection_probability(2000, 0.001) == pytest.approx(1 - 0.999**2000)
    plan = make_plan(1 << 30, "nist", seed=bytes(32))
    assert detection_probability(plan, 0.01) == pytest.approx(1 - 0.99**plan.sample_count)
    assert detection_probability(make_plan(1 << 30, "full", seed=bytes(32)), 1e-9) == 1.0
    with pytest.raises(ValueError):
        detection_probability(10, 1.5)


def test_detection_probability_in_logical_blocks() -> None:
    plan = make_plan(1 << 30, "nist", seed=bytes(32))
    k = -(-plan.bytes_planned // 4096)
    assert k > 13 * plan.sample_count  # each 56 KiB sample reads fourteen 4 KiB blocks
    assert detection_probability(plan, 1e-4, unit=4096) == pytest.approx(1 - (1 - 1e-4) ** k)
    assert detection_probability(plan, 1e-4, unit=4096) > detection_probability(plan, 1e-4)


def test_detection_table_returns_data() -> None:
    rows = detection_table(1 << 30, fractions=(0.0001, 0.02))
    assert [(row.mode, row.requested_coverage) for row in rows] == [
        ("quick", 0.1),
        ("quick", 1.0),
        ("nist", None),
        ("full", None),
    ]
    nist = rows[2]
    assert nist.samples == 2002 and nist.block_size == 57344
    assert nist.blocks_read == -(-(2001 * 57344 + (1 << 30) % 57344) // 4096)
    assert dict(nist.probabilities)[0.0001] > 0.9
    assert dict(nist.probabilities)[0.02] > 0.999999
    assert rows[3].blocks_read == (1 << 30) // 4096
    assert all(p == 1.0 for _, p in rows[3].probabilities)
    # reading more never catches less
    for f_index in range(2):
        column = [row.probabilities[f_index][1] for row in rows]
        assert column == sorted(column)
