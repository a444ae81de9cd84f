"""The clock and the calendar: UTC now, RFC 3339 times, dates and durations as users write them.

One place, so certificates, journals, reports and the ledger agree on how time is read and
written: UTC, RFC 3339 with ``Z``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from expunge.core.errors import UsageError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)([Zz]|[+-]\d{2}:\d{2})"
)
_DURATION = re.compile(r"([1-9][0-9]{0,5})([dwmy])")
_DATE_REMEDY = (
    "write YYYY-MM-DD (kept until the end of that day, UTC) or an RFC 3339 time such as "
    "2027-01-31T17:00:00+01:00"
)
_DURATION_REMEDY = "write a whole number and a unit: d (days), w (weeks), m (months), y (years)"


def utc_now() -> datetime:
    """The current time in UTC (one place, so callers agree on the clock)."""
    return datetime.now(UTC)


def rfc3339(moment: datetime, timespec: str = "auto") -> str:
    """``2026-11-24T19:40:17.123456Z``: UTC, as certificates, journals and reports record times.

    A naive time is refused: its zone is unknown, so its UTC instant is too.
    """
    if moment.tzinfo is None:
        raise ValueError("a recorded time needs a timezone (use utc_now())")
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def parse_date(text: str, what: str = "--retain-until") -> datetime:
    """``YYYY-MM-DD`` (the end of that day, UTC) or an RFC 3339 time with its offset."""
    try:
        if _DATE.fullmatch(text):
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
        match = _RFC3339.fullmatch(text)
        if match:
            day_part, time_part, zone = match.groups()
            zone = "+00:00" if zone in "Zz" else zone
            return datetime.fromisoformat(f"{day_part}T{time_part}{zone}").astimezone(UTC)
    except ValueError as exc:
        raise UsageError(
            f"{text!r} is not a real date or time ({exc})", target=what, remedy=_DATE_REMEDY
        ) from None
    raise UsageError(f"{text!r} is not a date", target=what, remedy=_DATE_REMEDY)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    if year > 9999:
        raise OverflowError
    import calendar  # here: only month arithmetic needs it (and its import of locale)

    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add_duration(start: datetime, text: str, what: str = "--retain-for") -> datetime:
    """``start`` plus a duration like ``90d``, ``12w``, ``6m`` or ``1y`` (months and years
    by the calendar: a year after 29 February is 28 February)."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise UsageError(f"{text!r} is not a duration", target=what, remedy=_DURATION_REMEDY)
    count, unit = int(match.group(1)), match.group(2)
    try:
        if unit in "dw":
            return start + timedelta(days=count * (7 if unit == "w" else 1))
        return _add_months(start, count * (12 if unit == "y" else 1))
    except OverflowError:
        raise UsageError(
            f"{text!r} reaches beyond the year 9999", target=what, remedy=_DURATION_REMEDY
        ) from None


def retention(until: str | None, for_: str | None, now: datetime) -> datetime | None:
    """The retain-until time from ``--retain-until`` or ``--retain-for`` (not both)."""
    if until is not None and for_ is not None:
        raise UsageError(
            "--retain-until and --retain-for both given",
            target="retention",
            remedy="give one of them",
        )
    if until is not None:
        return parse_date(until)
    if for_ is not None:
        return add_duration(now, for_)
    return None
