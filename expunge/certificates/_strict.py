"""Strict reading of parsed JSON into typed values, with the field's path in every error.

A certificate is read years after it was written, by tools that may not be expunge; one
lenient reader is enough for two of them to disagree about what a signed document says. So
every object must have exactly its fields and every value exactly its type (``true`` is
not ``1``). Formats (hex, times) are checked by the records' constructors, so a record built
in code is held to the same rules as one read from a file.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from expunge.core.canonical import canonical_bytes, strict_loads
from expunge.core.errors import IntegrityError
from expunge.core.strictjson import SAFE_INTEGER

E = TypeVar("E", bound=Enum)
R = TypeVar("R")

_ASTRAL = re.compile(rb"[\xf0-\xf4]")
_HEX = re.compile(r"(?:[0-9a-f]{2})+")
# Every digit made "0" and every other byte "x": a run of 16 digits (where an integer
# beyond 2**53 could be, or a digit run in a string) is then found by a plain byte search,
# many times faster than a regular expression.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x78 for b in range(256))
_LONG_DIGITS = b"0" * 16
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z")


class Unlocated(IntegrityError):
    """A value check that does not yet know where in the document the value sits.

    Raised by record constructors; ``located`` adds the path when the record is read from
    JSON, so a reader learns ``certificate.subjects[3].passes[1]``, not just ``pass 1``.
    """


def located(read: Callable[[Any, object, str], R]) -> Callable[[Any, object, str], R]:
    """Decorate a ``from_dict(cls, data, where)``: value-check errors get ``where`` prefixed."""

    @functools.wraps(read)
    def reader(cls: Any, data: object, where: str) -> R:
        try:
            return read(cls, data, where)
        except Unlocated as exc:
            raise IntegrityError(f"{where}: {exc.message}") from None

    return reader


def check_timestamp(value: str, name: str) -> str:
    """``value`` if it is an RFC 3339 UTC time ending in ``Z``."""
    if not _TIMESTAMP.fullmatch(value):
        raise Unlocated(f"{name} must be an RFC 3339 UTC time like 2026-01-31T12:00:00Z")
    try:
        datetime.fromisoformat(value[:19])
    except ValueError:
        raise Unlocated(f"{name} is not a real date and time: {value}") from None
    return value


def check_hex(value: str, name: str, nbytes: int | None = None) -> str:
    """``value`` if it is lowercase hex (of exactly ``nbytes`` bytes when given)."""
    if not _HEX.fullmatch(value):
        raise Unlocated(f"{name} must be lowercase hexadecimal bytes")
    if nbytes is not None and len(value) != 2 * nbytes:
        raise Unlocated(f"{name} must be {nbytes} bytes ({2 * nbytes} hex digits)")
    return value


def field_names(cls: type, *extra: str) -> frozenset[str]:
    """The JSON keys of a dataclass: its fields plus computed ``extra`` ones."""
    return frozenset(f.name for f in dataclasses.fields(cls)) | frozenset(extra)


_FIELD_ORDER: dict[type, tuple[str, ...]] = {}


def _field_order(cls: type) -> tuple[str, ...]:
    # ``dataclasses.fields`` filters the class's fields anew at every call: a tree's
    # certificate asks for them tens of thousands of times.
    found = _FIELD_ORDER.get(cls)
    if found is None:
        found = _FIELD_ORDER[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return found


_AS_IS = frozenset({str, int, float, bool, type(None)})


def without_absent(data: dict[str, Any], optional: frozenset[str]) -> dict[str, Any]:
    """``data`` without the optional keys whose value is None."""
    return {k: v for k, v in data.items() if not (k in optional and v is None)}


def plain(value: Any) -> Any:
    """A field value as JSON data: enums by value, tuples as arrays, records by ``to_dict``."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.to_dict()  # type: ignore[attr-defined]
    return value


def fields_dict(record: Any, without: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every field of a dataclass instance (but those named in ``without``), as JSON data."""
    return {
        name: plain(getattr(record, name))
        for name in _field_order(type(record))
        if name not in without
    }


def es6_number(value: float) -> str:
    """How ECMAScript (and so RFC 8785) writes a finite float: shortest digits, JS layout."""
    text = repr(value)
    if "e" not in text and not text.endswith(".0"):
        # Python's fixed notation, a fraction (1e-4 <= |value| < 1e16): ECMAScript writes
        # the same shortest digits the same way (it uses exponents only beyond 1e21 or
        # below 1e-6, and drops a fraction of zero).
        return text
    if value == 0:
        return "0"
    text = repr(abs(value))
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    leading = len(all_digits) - len(all_digits.lstrip("0"))
    digits = all_digits.strip("0")
    # value = 0.<digits> x 10**point, in the terms of ECMA-262 Number::toString
    point = len(whole) - leading + int(exponent or 0)
    count = len(digits)
    if count <= point <= 21:
        body = digits + "0" * (point - count)
    elif 0 < point <= 21:
        body = f"{digits[:point]}.{digits[point:]}"
    elif -6 < point <= 0:
        body = "0." + "0" * -point + digits
    else:
        power = point - 1
        head = digits if count == 1 else f"{digits[0]}.{digits[1:]}"
        body = f"{head}e{'+' if power >= 0 else '-'}{abs(power)}"
    return "-" + body if value < 0 else body


def _python_form_is_canonical(value: Any) -> bool:
    """True when Python's compact, sorted encoder can write ``value`` as RFC 8785 does:
    plain JSON values only (string keys; no tuple, which it would write as an array) and
    no number that prints differently in the two."""
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is dict:
            if not all(type(key) is str for key in item):
                return False
            extend(item.values())
        elif kind is list:
            extend(item)
        elif kind is float:
            if repr(item) != es6_number(item):
                return False
        elif kind is not int or not -SAFE_INTEGER <= item <= SAFE_INTEGER:
            return False
    return True


class _Numbers:
    """Whether every number of a document prints the same in Python and in RFC 8785,
    noted by ``json``'s number hooks as the document is parsed."""

    __slots__ = ("alike",)

    def __init__(self) -> None:
        self.alike = True

    def parse_float(self, text: str) -> float:
        value = float(text)
        if self.alike and repr(value) != es6_number(value):
            self.alike = False
        return value

    def parse_int(self, text: str) -> int:
        value = int(text)
        if len(text) > 15 and not -SAFE_INTEGER <= value <= SAFE_INTEGER:
            self.alike = False
        return value


def loads_noting_numbers(data: bytes, what: str) -> tuple[Any, bool]:
    """``strict_loads``, and whether every number of the document prints the same in
    Python and in RFC 8785 (for ``is_canonical``: noted while parsing, this spares a walk
    over every value of a certificate of thousands of subjects)."""
    numbers = _Numbers()
    value = strict_loads(
        data, what=what, parse_float=numbers.parse_float, parse_int=numbers.parse_int
    )
    return value, numbers.alike


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_canonical(data: bytes) -> Any | None:
    """The value ``data`` holds when ``data`` is exactly its RFC 8785 form, parsed by the
    C decoder alone; ``None`` when it is not shown canonical this way (the caller then
    reads it with ``loads_noting_numbers`` and ``is_canonical``, which say what is wrong).

    The fast path of a certificate read: ``strict_loads`` calls back into Python for every
    object (to refuse duplicate keys) and every integer (to note those beyond 2**53).
    Neither is needed where the document re-serializes to its own bytes: a duplicate key
    would be missing from the parsed object and so from the bytes written back, and no
    integer of at most 15 digits (no run of 16 digits anywhere) is beyond 2**53. Floats
    are still noted as they are parsed (they are few), for ``canonical_form``.
    """
    if _LONG_DIGITS in data.translate(_DIGITS_AS_ZERO):
        return None
    numbers = _Numbers()
    decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_float=numbers.parse_float)
    try:
        value = decoder.decode(data.decode("utf-8"))
        if numbers.alike and canonical_form(value, True) == data:
            return value
    except (UnicodeDecodeError, ValueError, IntegrityError):
        pass
    return None


def whole_floats_as_ints(value: Any) -> Any:
    """``value`` (a JSON value of the caller's own, changed in place) with every float that
    is a whole number within 2**53 made an int. RFC 8785 writes both alike (``338177.0``
    as ``338177``); Python writes the float otherwise, so a document holding one (a
    throughput, a duration) would be serialized by the slow path of ``canonical_form``."""
    stack = [value] if type(value) is dict or type(value) is list else []
    while stack:
        item = stack.pop()
        pairs = item.items() if type(item) is dict else enumerate(item)
        for key, inner in pairs:
            kind = type(inner)
            if kind is float and inner.is_integer() and -SAFE_INTEGER <= inner <= SAFE_INTEGER:
                item[key] = int(inner)
            elif kind is dict or kind is list:
                stack.append(inner)
    return value


def canonical_form(value: Any, numbers_alike: bool | None = None) -> bytes:
    """RFC 8785 bytes of ``value`` (``IntegrityError`` when it has none), fast.

    Python's own encoder, compact and sorted, escapes strings exactly as RFC 8785 does and
    sorts keys the same way unless a character outside the BMP is present (RFC 8785 sorts
    by UTF-16 units). Where the two could differ (such characters, floats that Python
    prints otherwise, integers beyond 2**53, anything but plain JSON values) the
    ``rfc8785`` serialization decides: the pure-Python serializer is five times slower,
    which a certificate of thousands of subjects pays at every signature and check.
    ``numbers_alike`` is what ``loads_noting_numbers`` found for a parsed document (by
    default a walk over ``value`` finds it).
    """
    if numbers_alike is None:
        numbers_alike = _python_form_is_canonical(value)
    if numbers_alike:
        try:
            text = json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            )
            data = text.encode("utf-8")
        except (TypeError, ValueError):  # a lone surrogate, a value JSON cannot hold
            pass
        else:
            if data.isascii() or _ASTRAL.search(data) is None:
                return data
    return canonical_bytes(value)


def is_canonical(value: Any, data: bytes, numbers_alike: bool | None = None) -> bool:
    """Whether ``data`` (which parsed to ``value``) is exactly its RFC 8785 serialization
    (``canonical_form``; ``numbers_alike`` as there)."""
    try:
        return canonical_form(value, numbers_alike) == data
    except IntegrityError:
        return False
