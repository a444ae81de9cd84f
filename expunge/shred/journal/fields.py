"""Strict reading of journal fields: each one checked, or ``InvalidField`` naming it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from expunge.shred.report import ByteRange

# A digest is opaque to the journal; 64 bytes covers SHA-512 and a long BLAKE3 output.
MAX_DIGEST_HEX = 128


class InvalidField(ValueError):
    """A journal field that does not parse; turned into ``IntegrityError`` with the path."""


def keys_of(data: object, where: str, required: Sequence[str]) -> Mapping[str, Any]:
    """``data`` as an object with exactly the ``required`` keys."""
    if not isinstance(data, dict):
        raise InvalidField(f"{where} must be an object")
    if set(data) != set(required):
        missing, extra = set(required) - set(data), set(data) - set(required)
        raise InvalidField(f"{where}: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return data


def int_field(value: object, where: str, *, low: int = 0) -> int:
    """``value`` as an integer of at least ``low`` (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidField(f"{where} must be an integer >= {low}")
    return value


def str_field(value: object, where: str) -> str:
    """``value`` as a string."""
    if not isinstance(value, str):
        raise InvalidField(f"{where} must be a string")
    return value


def digest_field(value: object, where: str) -> str | None:
    """``value`` as an optional digest: None, or a string of lowercase hex digits."""
    if value is None:
        return None
    text = str_field(value, where)
    if not is_digest(text):
        raise InvalidField(f"{where} must be null or 2 to {MAX_DIGEST_HEX} lowercase hex digits")
    return text


def is_digest(text: str) -> bool:
    """Whether ``text`` is a digest as a journal keeps one: an even number (2 to
    ``MAX_DIGEST_HEX``) of lowercase hex digits."""
    return (
        0 < len(text) <= MAX_DIGEST_HEX
        and len(text) % 2 == 0
        and all(c in "0123456789abcdef" for c in text)
    )


def time_field(value: object, where: str) -> datetime:
    """``value`` as an RFC 3339 time with its time zone."""
    text = str_field(value, where)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidField(f"{where} is not an RFC 3339 time") from exc
    if moment.tzinfo is None:
        raise InvalidField(f"{where} has no time zone")
    return moment


def ranges_field(value: object, where: str, size: int) -> tuple[ByteRange, ...]:
    """``value`` as sorted, merged, non-empty ranges inside a ``size``-byte target."""
    if not isinstance(value, list):
        raise InvalidField(f"{where} must be a list")
    out: list[ByteRange] = []
    for i, item in enumerate(value):
        raw = keys_of(item, f"{where}[{i}]", ("start", "end"))
        start, end = (
            int_field(raw["start"], f"{where}[{i}].start"),
            int_field(raw["end"], f"{where}[{i}].end"),
        )
        if not start < end <= size or (out and start <= out[-1].end):
            raise InvalidField(f"{where}[{i}] is empty, out of bounds, unsorted or not merged")
        out.append(ByteRange(start, end))
    return tuple(out)
