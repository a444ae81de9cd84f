"""Canonical JSON (RFC 8785) for everything that is hashed or signed, and a strict parser.

Signatures and hash chains are over bytes, so the bytes must be one function of the value:
``rfc8785`` gives the JCS serialization. Parsing is strict because a lenient parser is how
two readers come to disagree about what a signed document says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import rfc8785

from expunge.core.errors import IntegrityError


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON-compatible value."""
    try:
        return bytes(rfc8785.dumps(value))
    # AttributeError: rfc8785 0.1.2 (the floor) on a key that is not a string.
    except (rfc8785.CanonicalizationError, AttributeError, TypeError, ValueError) as exc:
        raise IntegrityError(f"value cannot be canonicalized: {exc}") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return result


# One decoder for every strict parse (``json.loads`` with hooks builds a new one per call).
_STRICT = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)


def strict_loads(
    data: bytes | str,
    *,
    what: str = "JSON document",
    parse_float: Callable[[str], Any] | None = None,
    parse_int: Callable[[str], Any] | None = None,
) -> Any:
    """Parse JSON, rejecting duplicate keys, NaN/Infinity and trailing data.

    The decoder already refuses trailing data; the hooks refuse the rest. ``parse_float``
    and ``parse_int`` are ``json``'s number hooks, for a reader that notes the numbers.
    """
    decoder = _STRICT
    if parse_float is not None or parse_int is not None:
        decoder = json.JSONDecoder(
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
            parse_float=parse_float,
            parse_int=parse_int,
        )
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        if text.startswith("\ufeff"):  # as json.loads refuses it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return decoder.decode(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise IntegrityError(f"malformed {what}: {exc}") from exc
