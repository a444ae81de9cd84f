"""``--since``/``--until``: a date is a whole UTC day, an RFC 3339 time that instant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from expunge.commands.report_format import period
from expunge.core.errors import UsageError


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_a_date_is_the_whole_day() -> None:
    assert period("2026-03-01", "2026-03-31") == (
        _utc("2026-03-01T00:00:00"),
        _utc("2026-03-31T23:59:59"),
    )
    assert period("2026-03-01", "2026-03-01")[1] - period("2026-03-01", None)[0] == 86_399


def test_a_time_is_that_instant_and_either_end_may_be_open() -> None:
    assert period("2026-03-01T12:30:00+01:00", None) == (_utc("2026-03-01T11:30:00"), None)
    assert period(None, None) == (None, None)


@pytest.mark.parametrize(
    ("since", "until", "words"),
    [("2026-03-02", "2026-03-01", "before --since"), ("March", None, "is not a date")],
)
def test_a_bad_period_is_a_usage_error(since: str, until: str | None, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        period(since, until)
