"""Strict reading of parsed JSON objects into typed values, naming the field in every error.

Certificates and the ledger are read years after they were written, possibly by other
tools; one lenient reader is enough for two of them to disagree about what a signed or
chained document says. So every object must have exactly its fields and every value
exactly its type (``true`` is not ``1``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from enum import Enum
from typing import Any, TypeVar

from expunge.core.errors import IntegrityError

E = TypeVar("E", bound=Enum)

SAFE_INTEGER = 2**53 - 1
"""The largest integer every JSON reader represents exactly."""


def kind_of(value: object) -> str:
    """How a JSON value is named in error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


class Fields:
    """One JSON object that must have exactly ``names`` as its keys, plus any of
    ``optional`` (fields added in a later version, absent from older documents).

    Getters check the type of each value and raise ``IntegrityError`` naming the field.
    """

    __slots__ = ("_data", "where")

    def __init__(
        self,
        data: object,
        where: str,
        names: frozenset[str],
        optional: frozenset[str] = frozenset(),
    ) -> None:
        if not isinstance(data, dict):
            raise IntegrityError(f"{where} must be an object, not {kind_of(data)}")
        if data.keys() != names and not names <= data.keys() <= names | optional:
            unknown = sorted(data.keys() - names - optional)
            if unknown:
                raise IntegrityError(f"{where}: unknown field {unknown[0]!r}")
            missing = sorted(names - data.keys())
            raise IntegrityError(f"{where}: missing field {missing[0]!r}")
        self._data: dict[str, Any] = data
        self.where = where

    def has(self, name: str) -> bool:
        """Whether the object has the (optional) field ``name``."""
        return name in self._data

    def _at(self, name: str) -> str:
        return f"{self.where}.{name}"

    def _wrong(self, name: str, expected: str) -> IntegrityError:
        found = kind_of(self._data[name])
        return IntegrityError(f"{self._at(name)} must be {expected}, not {found}")

    def raw(self, name: str) -> Any:
        """The value as parsed, for a nested object read by its own class (None for an
        optional field that is absent)."""
        return self._data.get(name)

    def text(self, name: str) -> str:
        """A string."""
        value = self._data[name]
        if not isinstance(value, str):
            raise self._wrong(name, "a string")
        return value

    def opt_text(self, name: str) -> str | None:
        """A string or null."""
        return None if self._data.get(name) is None else self.text(name)

    def integer(self, name: str, minimum: int = 0) -> int:
        """An integer no smaller than ``minimum`` (booleans are not integers)."""
        value = self._data[name]
        # Parsed JSON holds no int subclass but bool: one type test refuses booleans.
        if type(value) is not int:
            raise self._wrong(name, "an integer")
        if value > SAFE_INTEGER:
            raise IntegrityError(f"{self._at(name)} is beyond JSON's exact integers (2**53 - 1)")
        if value < minimum:
            raise IntegrityError(f"{self._at(name)} must be at least {minimum}, not {value}")
        return value

    def opt_integer(self, name: str, minimum: int = 0) -> int | None:
        """An integer or null."""
        return None if self._data.get(name) is None else self.integer(name, minimum)

    def number(self, name: str) -> float:
        """A finite, non-negative number (canonical JSON writes ``1.0`` as ``1``)."""
        value = self._data[name]
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._wrong(name, "a number")
        if not math.isfinite(value) or value < 0:
            raise IntegrityError(f"{self._at(name)} must be a finite number >= 0")
        return float(value)

    def flag(self, name: str) -> bool:
        """``true`` or ``false``."""
        value = self._data[name]
        if not isinstance(value, bool):
            raise self._wrong(name, "true or false")
        return value

    def opt_flag(self, name: str) -> bool | None:
        """``true``, ``false`` or null."""
        return None if self._data.get(name) is None else self.flag(name)

    def choice(self, name: str, enum: type[E]) -> E:
        """One of the values of ``enum``."""
        value = self.text(name)
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(str(member.value) for member in enum)
            raise IntegrityError(
                f"{self._at(name)} must be one of {allowed}, not {value!r}"
            ) from None

    def items(self, name: str) -> Iterator[tuple[str, Any]]:
        """The elements of an array, each with its path for error messages."""
        value = self._data[name]
        if not isinstance(value, list):
            raise self._wrong(name, "an array")
        where = self._at(name)
        return ((f"{where}[{i}]", item) for i, item in enumerate(value))

    def integers(self, name: str) -> tuple[int, ...]:
        """An array of non-negative integers."""
        result = []
        for where, item in self.items(name):
            if not isinstance(item, int) or isinstance(item, bool) or not 0 <= item <= SAFE_INTEGER:
                raise IntegrityError(f"{where} must be a non-negative integer below 2**53")
            result.append(item)
        return tuple(result)

    def texts(self, name: str) -> tuple[str, ...]:
        """An array of strings."""
        value = self._data[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._wrong(name, "an array of strings")
        return tuple(value)

    def obj(self, name: str) -> dict[str, Any]:
        """A JSON object, returned as parsed."""
        value = self._data[name]
        if not isinstance(value, dict):
            raise self._wrong(name, "an object")
        return value
