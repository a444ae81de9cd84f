"""Paths in ledger events, recorded losslessly when they are not UTF-8.

An event's paths are ``str`` as Python hands them out (undecodable bytes as lone
surrogates, see ``expunge.core.paths``). Their JSON form is the readable text, plus a
``<key>_bytes`` field with the raw bytes (base64) only when some name is not UTF-8: an
event naming only UTF-8 paths is written, and hashes, exactly as before the field existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from expunge.core import paths
from expunge.core.errors import IntegrityError
from expunge.core.strictjson import Fields


def path_out(key: str, value: str | None) -> dict[str, Any]:
    """``{key: readable}`` and, for a name that is not UTF-8, ``{key}_bytes``."""
    if value is None:
        return {key: None}
    return paths.path_fields(value, key)


def path_in(f: Fields, key: str) -> str:
    """The name ``path_out`` wrote."""
    return _decoded(f, key, f.text(key), _raw(f, key))


def opt_path_in(f: Fields, key: str) -> str | None:
    """The name ``path_out`` wrote, or ``None`` when the field is null."""
    if f.opt_text(key) is not None:
        return path_in(f, key)
    if _raw(f, key) is not None:
        raise IntegrityError(f"{f.where}.{key}_bytes is set for a null {key}")
    return None


def _raw(f: Fields, key: str) -> str | None:
    return f.text(f"{key}_bytes") if f.has(f"{key}_bytes") else None


def paths_out(key: str, values: Sequence[str]) -> dict[str, Any]:
    """``{key: [readable...]}`` and, when any name is not UTF-8, ``{key}_bytes``: a list as
    long, with the base64 bytes of those names and null for the others."""
    out: dict[str, Any] = {key: [paths.readable(v) for v in values]}
    raw = [paths.raw_b64(v) for v in values]
    if any(r is not None for r in raw):
        out[f"{key}_bytes"] = raw
    return out


def paths_in(f: Fields, key: str) -> tuple[str, ...]:
    """The names ``paths_out`` wrote."""
    texts = f.texts(key)
    if not f.has(f"{key}_bytes"):
        return texts
    raw = f.raw(f"{key}_bytes")
    if (
        not isinstance(raw, list)
        or len(raw) != len(texts)
        or not all(r is None or isinstance(r, str) for r in raw)
        or all(r is None for r in raw)
    ):
        raise IntegrityError(
            f"{f.where}.{key}_bytes must list base64 names or null, one per {key} entry, "
            "and is written only when a name is not UTF-8"
        )
    return tuple(_decoded(f, key, text, r) for text, r in zip(texts, raw, strict=True))


def _decoded(f: Fields, key: str, text: str, raw: str | None) -> str:
    try:
        name = paths.from_fields(text, raw)
    except ValueError as exc:
        raise IntegrityError(f"{f.where}.{key}_bytes: {exc}") from None
    if raw is not None and not paths.is_raw(name):
        # One event, one JSON form: the bytes are written only when they are needed.
        raise IntegrityError(f"{f.where}.{key}_bytes is written only for a name not UTF-8")
    return name
