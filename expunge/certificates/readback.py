"""Before signing: the payload must read back, strictly, as the certificate it was made of.

A certificate the station cannot read back would be signed yet never verify; checking at
issue time turns that into an error naming the bad field, not a surprise years later. The
payload is read back the way ``Certificate.from_json`` reads it (strict JSON, strict
fields, canonical form), but one subject and one limitation at a time from their own
bytes, and the rest from the payload with those arrays emptied: a certificate of 10,000
subjects is never held twice over as parsed JSON (see ``assembly``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from expunge.certificates._strict import is_canonical, loads_noting_numbers
from expunge.certificates.assembly import Assembled
from expunge.certificates.model import Certificate, Limitation
from expunge.certificates.subjects import SubjectRecord
from expunge.core.errors import IntegrityError


def _changed(where: str) -> IntegrityError:
    return IntegrityError(
        f"certificate changes when read back ({where})", remedy="report this as a bug in expunge"
    )


def _read(data: bytes, where: str) -> Any:
    parsed, numbers_alike = loads_noting_numbers(data, where)
    if not is_canonical(parsed, data, numbers_alike):
        raise _changed(f"{where} is not in canonical form")
    return parsed


def _records(
    payload: Assembled,
    name: str,
    expected: Sequence[object],
    read: Callable[[object, str], object],
) -> None:
    if len(payload.items[name]) != len(expected):
        raise _changed(f"certificate.{name} has another length")
    for index, record in enumerate(expected):
        where = f"certificate.{name}[{index}]"
        if read(_read(payload.item(name, index), where), where) != record:
            raise _changed(where)


def check_reads_back(certificate: Certificate, payload: Assembled) -> None:
    """Raise ``IntegrityError`` unless ``payload`` (``certificate.assembled()``) reads back
    as ``certificate``: each subject and limitation from its bytes, then everything else,
    with the recorded outcome the certificate's own."""
    _records(payload, "subjects", certificate.subjects, SubjectRecord.from_dict)
    _records(payload, "limitations", certificate.limitations, Limitation.from_dict)
    head = _read(payload.head(), "certificate")
    if not isinstance(head, dict) or head.get("outcome") != certificate.outcome.value:
        raise _changed("certificate.outcome")
    # The records were read back above; the rest is read as a certificate without them,
    # whose outcome is computed from none.
    rest = replace(certificate, subjects=(), limitations=())
    head["outcome"] = rest.outcome.value
    if Certificate.from_dict(head) != rest:
        raise _changed("certificate")
