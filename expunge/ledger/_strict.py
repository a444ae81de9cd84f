"""Strict reading of parsed JSON into typed values, naming the field in every error.

A ledger is read years after it was written, possibly by another tool from an export; a
lenient reader is how two readers come to disagree about what the register says. Every
object must have exactly its fields and every value exactly its type (``true`` is not ``1``).
"""

from __future__ import annotations

from typing import Any

from expunge.errors import IntegrityError


def _kind(value: object) -> str:
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
    """One JSON object that must have exactly ``names`` as its keys."""

    __slots__ = ("_data", "where")

    def __init__(self, data: object, where: str, names: frozenset[str]) -> None:
        if not isinstance(data, dict):
            raise IntegrityError(f"{where} must be an object, not {_kind(data)}")
        if data.keys() != names:
            unknown = sorted(data.keys() - names)
            missing = sorted(names - data.keys())
            parts = []
            if unknown:
                parts.append(f"unknown field(s) {', '.join(unknown)}")
            if missing:
                parts.append(f"missing field(s) {', '.join(missing)}")
            raise IntegrityError(f"{where}: {'; '.join(parts)}")
        self._data: dict[str, Any] = data
        self.where = where

    def _bad(self, name: str, wanted: str) -> IntegrityError:
        return IntegrityError(
            f"{self.where}.{name} must be {wanted}, not {_kind(self._data[name])}"
        )

    def text(self, name: str) -> str:
        """A string field."""
        value = self._data[name]
        if not isinstance(value, str):
            raise self._bad(name, "a string")
        return value

    def opt_text(self, name: str) -> str | None:
        """A string field that may be null."""
        return None if self._data[name] is None else self.text(name)

    def integer(self, name: str) -> int:
        """An integer field (booleans are not integers here)."""
        value = self._data[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(name, "an integer")
        return value

    def boolean(self, name: str) -> bool:
        """A boolean field."""
        value = self._data[name]
        if not isinstance(value, bool):
            raise self._bad(name, "a boolean")
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        """An array of strings."""
        value = self._data[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(name, "an array of strings")
        return tuple(value)

    def obj(self, name: str) -> dict[str, Any]:
        """A JSON object field, returned as is."""
        value = self._data[name]
        if not isinstance(value, dict):
            raise self._bad(name, "an object")
        return value
