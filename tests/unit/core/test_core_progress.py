"""Throughput and time left: the arithmetic every progress view shares."""

from __future__ import annotations

import itertools

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
        st.tuples(st.floats(0.1, 5.0), st.floats(0.71, 1.41)),  # (seconds later, speed factor)
        min_size=2,
        max_size=60,
    )
)
def test_countdown_never_rises_while_the_speed_stays_within_a_factor_of_two(
    readings: list[tuple[float, float]],
) -> None:
    # A job of 1000 units at a nominal 10 units/s, seen through a speed that wobbles.
    countdown, now, done, shown = Countdown(), 0.0, 0.0, []
    for later, jitter in readings:
        now += later
        done = min(done + 10 * later, 999.0)
        shown.append(countdown.show(now, (1000 - done) / (10 * jitter)))
    assert all(b <= a for a, b in itertools.pairwise(shown))


def test_countdown_follows_a_drive_that_really_slowed_down_and_restarts_per_segment() -> None:
    countdown = Countdown()
    assert countdown.show(0.0, 100.0) == 100.0
    assert countdown.show(10.0, 95.0) == 90.0  # held to the countdown
    assert countdown.show(20.0, 500.0) == 500.0  # five times slower: re-estimated
    countdown.reset()
    assert countdown.show(21.0, 800.0) == 800.0
    assert countdown.show(22.0, -3.0) == 0.0
