"""Which destroyed paths were the registered documents, and what a certificate says of them.

Pure functions of what the ledger said was registered at the paths and the digests read
before wiping. Apart from ``recording`` because every destruction asks them (with nothing
registered, of nothing), while only a home with a ledger records a ``destroy`` event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from expunge.workflows.records.lookup import RegisteredLocation


def confirmed_documents(
    registered: Mapping[str, Sequence[RegisteredLocation]],
    digests: Mapping[str, str | None],
) -> tuple[dict[str, list[str]], list[str]]:
    """Which destroyed paths were the registered documents, by the digest read before
    wiping: ``({doc_id: [paths]}, notes on the ones that were not)``."""
    documents: dict[str, list[str]] = {}
    notes: list[str] = []
    for path, digest in digests.items():
        for loc in registered.get(path, ()):
            if loc.confirmed_by(digest):
                documents.setdefault(loc.doc_id, []).append(path)
            else:
                notes.append(
                    f"{path}: recorded as {loc.doc_id}, but its content was not the "
                    "registered one; the ledger was not updated"
                )
    return documents, notes


def classification_of(
    registered: Mapping[str, Sequence[RegisteredLocation]], documents: Mapping[str, Sequence[str]]
) -> str:
    """The classification(s) the ledger records for the documents destroyed, for the
    certificate's media information (several levels joined by ", ")."""
    levels = {
        loc.classification
        for locations in registered.values()
        for loc in locations
        if loc.doc_id in documents
    }
    return ", ".join(sorted(levels))


def document_ids(documents: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Path -> the document id a certificate names for it (one document per path)."""
    ids: dict[str, str] = {}
    for doc_id, paths in documents.items():
        for path in paths:
            ids.setdefault(path, doc_id)
    return ids
