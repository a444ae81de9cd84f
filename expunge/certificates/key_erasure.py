"""A crypto-erase in a certificate: the key that made a subject readable, and whether it
is gone. Apart from ``subjects`` because only a crypto-erase has one: a file's or a
drive's certificate never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from expunge.certificates._strict import Unlocated, field_names, fields_dict, located
from expunge.core.strictjson import Fields


@dataclass(frozen=True)
class KeyErasure:
    """A crypto-erase: the key that made the subject readable, and whether it is gone.

    ``key_reference`` names the key (a key-store id, a LUKS keyslot list), never its bytes;
    ``scope`` says what it protected (``sealed-document``, ``luks``). Proof that no copy of
    the key remains is a ``key-scan`` verification on the same subject.

    For a sealed document, ``doc_id`` and ``key_id`` say exactly whose key it was, so that
    an audit ties the erasure to one ledger document. Certificates issued before these
    fields existed lack them (the JSON form then has only the first three keys, and still
    verifies); a LUKS erasure has neither.
    """

    scope: str
    key_reference: str
    destroyed: bool
    doc_id: str | None = None
    key_id: str | None = None

    def __post_init__(self) -> None:
        if (self.doc_id is None) != (self.key_id is None):
            raise Unlocated("a key erasure names both doc_id and key_id, or neither")

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``doc_id`` and ``key_id`` only when set."""
        data = fields_dict(self)
        if self.doc_id is None:
            del data["doc_id"], data["key_id"]
        return data

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> KeyErasure:
        """Strictly read the JSON form (with or without ``doc_id``/``key_id``)."""
        structured = isinstance(data, dict) and "doc_id" in data
        f = Fields(data, where, _ERASURE_FIELDS if structured else _LEGACY_ERASURE_FIELDS)
        return cls(
            scope=f.text("scope"),
            key_reference=f.text("key_reference"),
            destroyed=f.flag("destroyed"),
            doc_id=f.text("doc_id") if structured else None,
            key_id=f.text("key_id") if structured else None,
        )


_ERASURE_FIELDS = field_names(KeyErasure)
_LEGACY_ERASURE_FIELDS = _ERASURE_FIELDS - {"doc_id", "key_id"}
