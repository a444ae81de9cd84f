"""Document ids: the ones people give (validated) and the ones the ledger generates.

Generated ids read ``DOC-2026-000123``: the year of registration and a number unique within
the ledger for that year. A person may give any id that is safe to print, put in a file
name and type on a command line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from expunge.core.errors import UsageError

MAX_LENGTH = 64
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_GENERATED = re.compile(r"DOC-(\d{4})-(\d{6,})")


def validate_document_id(text: str) -> str:
    """``text`` if it is a usable document id, else a usage error saying what is allowed."""
    if len(text) > MAX_LENGTH or not _VALID.fullmatch(text):
        raise UsageError(
            f"{text!r} is not a valid document id",
            target="document id",
            remedy=f"use up to {MAX_LENGTH} letters, digits, '.', '_' or '-', starting with "
            "a letter or digit (e.g. DOC-2026-000123), or omit --id to have one generated",
        )
    return text


def generated_id(year: int, number: int) -> str:
    """The generated form: ``DOC-<year>-<number, at least 6 digits>``."""
    return f"DOC-{year:04d}-{number:06d}"


def generated_prefix(year: int) -> str:
    """What every generated id of ``year`` starts with."""
    return f"DOC-{year:04d}-"


def next_document_id(existing: Iterable[str], year: int) -> str:
    """The id after the highest generated id of ``year`` among ``existing``.

    Ids of other years and ids people chose in other forms do not count, so numbering
    starts again at 000001 each year.
    """
    highest = 0
    for doc_id in existing:
        match = _GENERATED.fullmatch(doc_id)
        if match and int(match.group(1)) == year:
            highest = max(highest, int(match.group(2)))
    return generated_id(year, highest + 1)
