"""The detection rate of ``quick`` matches ``1 - (1 - f)^k`` (deterministic: fixed seeds)."""

from __future__ import annotations

import math
import os
import random
from pathlib import Path

import blake3
import pytest

from expunge.shred.patterns import PassPattern
from expunge.verify.detection import detection_probability
from expunge.verify.plan import make_plan
from expunge.verify.readback import verify_path

BLOCK = 4096
BLOCKS = 1 << 16  # a 256 MiB sparse file of zeros: holes read back fast
BAD = 30  # f = 30 / 65536: about 60% of quick plans (2,002 samples) hit a bad block
TRIALS = 200


@pytest.mark.slow
def test_quick_detection_rate_matches_the_formula(disk_dir: Path) -> None:
    size = BLOCKS * BLOCK
    path = disk_dir / "sparse"
    pattern = PassPattern.fixed(b"\x00")
    with open(path, "wb") as handle:
        handle.truncate(size)
    # bad blocks scattered at random, away from the always-read first and last blocks
    bad = sorted(random.Random(20260501).sample(range(1, BLOCKS - 1), BAD))
    fd = os.open(path, os.O_WRONLY)
    try:
        for index in bad:
            os.pwrite(fd, b"\xff" * BLOCK, index * BLOCK)
        os.fdatasync(fd)
    finally:
        os.close(fd)
    bad_offsets = {index * BLOCK for index in bad}

    detected = 0
    predicted = []
    for trial in range(TRIALS):
        seed = blake3.blake3(f"detection trial {trial}".encode()).digest()
        plan = make_plan(size, "quick", block_size=BLOCK, coverage=1.0, seed=seed)
        report = verify_path(path, pattern, plan)
        # verification reports exactly the sampled bad blocks, and nothing else
        assert set(report.mismatches) == bad_offsets & set(plan.offsets)
        assert report.blocks_checked == plan.sample_count
        detected += report.status == "failed"
        predicted.append(detection_probability(plan, BAD / BLOCKS))

    p = sum(predicted) / TRIALS
    assert 0.5 < p < 0.7  # the experiment is informative: neither sure nor hopeless
    rate = detected / TRIALS
    # binomial sampling error (4 standard errors) plus the small gap between the formula
    # (sampling with replacement) and stratified sampling without replacement
    tolerance = 4 * math.sqrt(p * (1 - p) / TRIALS) + 0.02
    print(f"detection: observed {rate:.3f}, predicted {p:.3f}, tolerance {tolerance:.3f}")
    assert abs(rate - p) <= tolerance, (rate, p, tolerance)
