"""How likely a sample plan is to catch bad blocks, and the README's table of typical plans.

Apart from ``report``: a destruction reports what it read back and never computes these
figures (``DetectionRow`` is one frozen dataclass fewer at a one-file shred's import).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from expunge.verify.plan import SamplePlan, VerifyMode, make_plan


def detection_probability(
    plan_or_samples: SamplePlan | int, bad_fraction: float, *, unit: int | None = None
) -> float:
    """Probability that a plan reads at least one bad block: ``1 - (1 - f)^k``.

    ``f`` is the fraction of the target's blocks that do not hold what was written,
    scattered at random; ``k`` is how many blocks the plan reads. Blocks are the plan's
    samples (``k = sample_count``) unless ``unit`` names another block size, e.g. the 4 KiB
    logical block, in which case ``k = ceil(bytes_planned / unit)``: a 56 KiB ``nist``
    sample reads fourteen 4 KiB blocks. Given an integer, ``k`` is that integer.

    This is the figure for sampling with replacement; a plan samples without replacement
    and stratified, which catches at least as much for scattered bad blocks, so the figure
    is slightly conservative. A ``full`` plan reads every block and catches any ``f > 0``.
    """
    if not 0.0 <= bad_fraction <= 1.0:
        raise ValueError("bad_fraction must be between 0 and 1")
    if isinstance(plan_or_samples, SamplePlan):
        plan = plan_or_samples
        if plan.mode is VerifyMode.FULL and plan.size and bad_fraction > 0:
            return 1.0
        samples = plan.sample_count if unit is None else -(-plan.bytes_planned // unit)
    else:
        samples = plan_or_samples
    if samples < 0:
        raise ValueError("sample count must be non-negative")
    return 1.0 - (1.0 - bad_fraction) ** samples


@dataclass(frozen=True)
class DetectionRow:
    """One row of the detection table: a plan's shape and what it catches per ``f``."""

    mode: str
    requested_coverage: float | None
    coverage: float
    block_size: int
    samples: int
    blocks_read: int
    """How many ``unit``-sized blocks the plan reads (its ``k``)."""
    probabilities: tuple[tuple[float, float], ...]
    """``(f, probability of detection)`` for each bad-block fraction asked for."""


DEFAULT_TABLE_FRACTIONS: tuple[float, ...] = (0.00001, 0.0001, 0.001, 0.01, 0.02)
DEFAULT_TABLE_PLANS: tuple[tuple[str, float | None], ...] = (
    (VerifyMode.QUICK, 0.1),
    (VerifyMode.QUICK, 1.0),
    (VerifyMode.NIST, None),
    (VerifyMode.FULL, None),
)


def detection_table(
    size: int = 1 << 30,
    plans: Sequence[tuple[str, float | None]] = DEFAULT_TABLE_PLANS,
    fractions: Sequence[float] = DEFAULT_TABLE_FRACTIONS,
    *,
    unit: int = 4096,
) -> tuple[DetectionRow, ...]:
    """Detection probabilities of typical plans for a ``size``-byte target (README table).

    ``f`` is the fraction of bad ``unit``-byte blocks (4 KiB: the logical block), so plans
    with different sample sizes compare fairly. Each ``(mode, coverage)`` pair is planned
    with a fixed seed (the shape of a plan does not depend on the seed).
    """
    rows = []
    for mode, coverage in plans:
        plan = make_plan(size, mode, coverage=coverage, seed=bytes(32), align=unit)
        rows.append(
            DetectionRow(
                mode=mode,
                requested_coverage=coverage,
                coverage=plan.coverage,
                block_size=plan.block_size,
                samples=plan.sample_count,
                blocks_read=-(-plan.bytes_planned // unit),
                probabilities=tuple(
                    (f, detection_probability(plan, f, unit=unit)) for f in fractions
                ),
            )
        )
    return tuple(rows)
