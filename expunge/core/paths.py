"""File names that are not UTF-8, recorded losslessly.

POSIX names are bytes; Python hands them out as ``str`` with undecodable bytes kept as
lone surrogates (``os.fsdecode``, the ``surrogateescape`` error handler), which no JSON
document, certificate or ledger entry can hold. Every record of a path therefore has two
forms:

- ``path``: text for people, where each undecodable byte is written ``\\xHH``
  (``bad\\xffname``); for a UTF-8 name it is the name itself;
- ``path_bytes``: the raw bytes, base64, present only when the name is not UTF-8. When it
  is present it is the name; ``path`` is then only its readable form.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

_SURROGATE = re.compile("[\udc80-\udcff]")


def is_raw(path: str) -> bool:
    """Whether ``path`` holds bytes that are not UTF-8 (so it needs ``path_bytes``)."""
    return _SURROGATE.search(path) is not None


def readable(path: str) -> str:
    """``path`` as text anyone can print and any JSON can hold: ``\\xHH`` for raw bytes."""
    return _SURROGATE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", path)


def raw_b64(path: str) -> str | None:
    """The raw bytes of a name that is not UTF-8, base64; ``None`` for a UTF-8 name."""
    if not is_raw(path):
        return None
    return base64.b64encode(os.fsencode(path)).decode("ascii")


def path_fields(path: str, key: str = "path") -> dict[str, str]:
    """``{key: readable}``, plus ``{key}_bytes`` when the name is not UTF-8."""
    fields = {key: readable(path)}
    raw = raw_b64(path)
    if raw is not None:
        fields[f"{key}_bytes"] = raw
    return fields


def from_fields(text: str, raw: str | None) -> str:
    """The name a record holds: ``raw`` (base64 bytes) when present, else ``text``.

    Raises ``ValueError`` when ``raw`` is not base64, or does not match ``text``.
    """
    if raw is None:
        return text
    try:
        data = base64.b64decode(raw.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"not base64: {exc}") from None
    name = os.fsdecode(data)
    if readable(name) != text:
        raise ValueError("the raw bytes are not the name the text form shows")
    return name
