"""Sample plans: deterministic, in bounds, never overlapping, stratified, honest coverage."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expunge.core.errors import IntegrityError, UsageError
from expunge.verify.plan import (
    NIST_SUBSECTIONS,
    SamplePlan,
    make_plan,
)

GiB = 1 << 30

sizes = st.one_of(
    st.integers(min_value=0, max_value=1 << 16),
    st.integers(min_value=0, max_value=1 << 26),
    st.integers(min_value=0, max_value=1 << 36),
)
seeds = st.binary(min_size=16, max_size=48)
aligns = st.sampled_from([512, 4096])
sampled_modes = st.sampled_from(["nist", "quick"])
coverages = st.one_of(st.none(), st.floats(min_value=0.01, max_value=100.0))


def _effective(mode: str, coverage: float | None) -> float | None:
    """A coverage valid for the mode (nist needs 10% or more)."""
    if mode == "nist" and coverage is not None and coverage < 10:
        return 10 + coverage
    return coverage


def _plan(size: int, mode: str, coverage: float | None, seed: bytes, align: int) -> SamplePlan:
    return make_plan(size, mode, coverage=_effective(mode, coverage), seed=seed, align=align)


@settings(max_examples=150, deadline=None)
@given(size=sizes, mode=sampled_modes, coverage=coverages, seed=seeds, align=aligns)
def test_sampled_plans_are_sound(
    size: int, mode: str, coverage: float | None, seed: bytes, align: int
) -> None:
    plan = _plan(size, mode, coverage, seed, align)

    # deterministic for a seed, and replayable from its recorded parameters
    assert _plan(size, mode, coverage, seed, align) == plan
    replay = make_plan(
        plan.size,
        plan.mode,
        block_size=plan.block_size,
        coverage=plan.requested_coverage,
        seed=plan.seed,
        align=plan.align,
    )
    assert replay == plan
    assert SamplePlan.from_dict(plan.to_dict()) == plan

    # aligned, in bounds, sorted, never overlapping
    assert plan.block_size % align == 0
    previous_end = 0
    for offset, length in plan.samples():
        assert offset % align == 0
        assert offset >= previous_end
        # An empty target is checked by one empty sample at 0 (issue [2/8]: a zero-byte
        # file destroyed is a verified success).
        assert 0 < length <= plan.block_size or (size == 0 and (offset, length) == (0, 0))
        assert offset + length <= size
        assert length == plan.block_size or offset + length == size
        previous_end = offset + length

    if size == 0:
        assert plan.offsets == (0,)
        return
    # first and last block always
    assert plan.offsets[0] == 0
    assert plan.offsets[-1] == (size - 1) // plan.block_size * plan.block_size

    # the coverage claimed is the coverage read, and at least the one asked for
    read = sum(length for _, length in plan.samples())
    assert plan.bytes_planned == read
    assert plan.coverage == read / size
    asked = _effective(mode, coverage)
    wanted = (asked if asked is not None else {"quick": 1.0, "nist": 10.0}[mode]) / 100
    assert plan.coverage >= wanted - 1e-12

    # stratified: equal subsections covering the target, each with two samples or more
    spans = plan.subsection_spans()
    if plan.block_count >= 2 * NIST_SUBSECTIONS:
        assert len(spans) == NIST_SUBSECTIONS
    if spans:
        assert spans[0][0] == 0 and spans[-1][1] == size
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
        lengths = [end - start for start, end in spans[:-1]]
        if lengths:
            assert max(lengths) - min(lengths) <= plan.block_size
        for start, end in spans:
            inside = [o for o in plan.offsets if start <= o < end]
            assert len(inside) >= min(2, -(-(end - start) // plan.block_size))
    else:
        assert plan.offsets == (0,)  # one block: read whole


@settings(max_examples=60, deadline=None)
@given(size=sizes, seed=seeds, align=aligns)
def test_full_reads_every_byte_once(size: int, seed: bytes, align: int) -> None:
    plan = make_plan(size, "full", seed=seed, align=align)
    position = 0
    for offset, length in plan.samples():
        assert offset == position
        position += length
    assert position == size
    assert plan.coverage == 1.0
    assert make_plan(size, "full", seed=seed, align=align) == plan


@settings(max_examples=30, deadline=None)
@given(size=sizes, seed=seeds)
def test_none_reads_nothing(size: int, seed: bytes) -> None:
    plan = make_plan(size, "none", seed=seed)
    assert plan.offsets == ()
    assert plan.coverage == 0.0


@settings(max_examples=30, deadline=None)
@given(size=st.integers(min_value=1 << 24, max_value=1 << 34), a=seeds, b=seeds)
def test_different_seeds_choose_different_blocks(size: int, a: bytes, b: bytes) -> None:
    if a == b:
        return
    assert make_plan(size, "quick", seed=a).offsets != make_plan(size, "quick", seed=b).offsets


def test_nist_on_a_gibibyte_follows_the_rule_with_large_reads() -> None:
    plan = make_plan(GiB, "nist", seed=bytes(range(32)))
    assert plan.subsections == 1000
    assert plan.block_size == 56 * 1024  # 10% in two samples per subsection, 4 KiB aligned
    assert 0.10 <= plan.coverage < 0.11
    assert plan.sample_count == 2002  # 1000 x 2, and the first and last blocks


def test_quick_on_a_gibibyte_reads_about_two_thousand_small_samples() -> None:
    plan = make_plan(GiB, "quick", seed=bytes(range(32)))
    assert plan.block_size == 8192
    assert plan.sample_count == 2002
    assert 0.01 <= plan.coverage < 0.02


def test_huge_targets_cap_the_sample_size_and_take_more_samples() -> None:
    plan = make_plan(1 << 40, "nist", seed=bytes(32))
    assert plan.block_size == 4 << 20
    assert plan.subsections == 1000
    assert plan.coverage >= 0.10
    assert plan.sample_count > 20_000


def test_a_ten_byte_file_is_read_whole() -> None:
    for mode in ("nist", "quick", "full"):
        plan = make_plan(10, mode, seed=bytes(32))
        assert list(plan.samples()) == [(0, 10)]
        assert plan.coverage == 1.0


def test_small_targets_use_fewer_subsections_of_whole_blocks() -> None:
    plan = make_plan(1 << 20, "nist", seed=bytes(32))
    assert plan.block_size == 4096
    assert plan.subsections == 128  # 256 blocks, two per subsection: read whole
    assert plan.coverage == 1.0
    plan = make_plan(3 * 4096 + 5, "quick", seed=bytes(32))
    assert plan.subsections == 2
    assert plan.offsets[0] == 0 and plan.offsets[-1] == 3 * 4096


def test_the_seed_is_drawn_fresh_when_not_given() -> None:
    one, two = make_plan(1 << 30, "quick"), make_plan(1 << 30, "quick")
    assert len(one.seed) == 32
    assert one.seed != two.seed and one.offsets != two.offsets


def test_an_unaligned_size_keeps_offsets_aligned() -> None:
    plan = make_plan(GiB + 1234, "full", seed=bytes(32))
    assert all(o % 4096 == 0 for o in plan.offsets)
    assert plan.sample_length(plan.offsets[-1]) == 1234


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((100, "fast"), {}),
        ((-1, "full"), {}),
        ((100, "quick"), {"coverage": 0}),
        ((100, "quick"), {"coverage": 101}),
        ((100, "quick"), {"coverage": float("nan")}),
        ((100, "nist"), {"coverage": 5}),
        ((100, "full"), {"block_size": 1000}),
        ((100, "full"), {"block_size": 0}),
        ((100, "full"), {"align": 0}),
        ((100, "full"), {"seed": b"short"}),
    ],
)
def test_bad_arguments_are_usage_errors(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    with pytest.raises(UsageError):
        make_plan(*args, **kwargs)  # type: ignore[arg-type]


def test_nist_accepts_a_higher_coverage() -> None:
    plan = make_plan(GiB, "nist", coverage=25, seed=bytes(32))
    assert plan.coverage >= 0.25


def test_from_dict_is_strict() -> None:
    data = make_plan(1 << 24, "quick", seed=bytes(32)).to_dict()
    with pytest.raises(IntegrityError):
        SamplePlan.from_dict({**data, "extra": 1})
    with pytest.raises(IntegrityError):
        SamplePlan.from_dict({k: v for k, v in data.items() if k != "seed"})
    with pytest.raises(IntegrityError):
        SamplePlan.from_dict({**data, "samples": data["samples"] + 1})
    with pytest.raises(IntegrityError):
        SamplePlan.from_dict({**data, "seed": "zz"})
    with pytest.raises(IntegrityError):
        SamplePlan.from_dict({**data, "mode": "fast"})
    with pytest.raises(IntegrityError):
        SamplePlan.from_dict({**data, "size": "1"})


def test_a_plan_rejects_overlapping_or_out_of_bounds_offsets() -> None:
    with pytest.raises(UsageError):
        SamplePlan("full", bytes(32), 8192, 4096, (4096, 0))
    with pytest.raises(UsageError):
        SamplePlan("full", bytes(32), 8192, 4096, (8192,))
    with pytest.raises(UsageError):
        SamplePlan("full", bytes(32), 8192, 4096, (100,))
