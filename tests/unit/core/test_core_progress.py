"""Throughput and time left: the arithmetic every progress view shares."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expunge.core.progress import Countdown, RateMeter


def test_rate_is_the_average_since_the_segment_began() -> None:
    meter = RateMeter()
    assert meter.rate(1.0, 100) is None
    meter.begin(10.0, 1000)
    assert meter.rate(10.0, 1000) is None
    assert meter.rate(12.0, 5000) == 2000.0
    meter.begin(20.0)
    assert meter.rate(24.0, 400) == 100.0


@given(
    st.lists(
        st.tuples(st.floats(0.1, 5.0), st.floats(0.1, 1000.0)),  # (seconds later, estimate)
        min_size=2,
        max_size=60,
    )
)
def test_the_time_left_rises_only_for_an_estimate_past_twice_the_countdown(
    readings: list[tuple[float, float]],
) -> None:
    countdown, now = Countdown(), 0.0
    shown = countdown.show(now, readings[0][1])
    for later, estimate in readings[1:]:
        now += later
        ceiling = max(shown - later, 0.0)
        shown = countdown.show(now, estimate)
        if estimate <= 2 * ceiling + 5:
            assert shown == pytest.approx(min(estimate, ceiling))
        else:
            assert shown == estimate


@given(
    st.lists(st.tuples(st.floats(0.5, 5.0), st.floats(-0.25, 0.25)), min_size=2, max_size=60),
    st.floats(1e3, 1e9),
)
def test_a_steady_drive_seen_through_jitter_counts_down(
    readings: list[tuple[float, float]], speed: float
) -> None:
    # The average rate since the pass began, as the trackers use it (first report after a
    # second), over a steady drive whose buffers land up to a quarter second early or late.
    seconds = 1 + sum(later for later, _ in readings)
    total = speed * seconds * 3
    meter, countdown, now, shown = RateMeter(), Countdown(), 1.0, []
    meter.begin(0.0)
    for later, early in readings:
        now += later
        done = speed * (now + early)
        rate = meter.rate(now, round(done))
        assert rate is not None
        shown.append(countdown.show(now, (total - done) / rate))
    assert all(b <= a for a, b in itertools.pairwise(shown))


def test_countdown_follows_a_drive_that_really_slowed_down_and_restarts_per_segment() -> None:
    countdown = Countdown()
    assert countdown.show(0.0, 100.0) == 100.0
    assert countdown.show(10.0, 95.0) == 90.0  # held to the countdown
    assert countdown.show(20.0, 500.0) == 500.0  # five times slower: re-estimated
    countdown.reset()
    assert countdown.show(21.0, 800.0) == 800.0
    assert countdown.show(22.0, -3.0) == 0.0
