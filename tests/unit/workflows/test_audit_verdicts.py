"""What the audit takes from a certificate: whose key each key erasure destroyed, for
certificates with the structured fields and for those issued before them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from expunge.certificates import FileSubject, KeyErasure, SubjectRecord
from expunge.workflows.audit.verdicts import Facts
from tests.support.tamper_fixtures import sample_certificate


def _erasing(erasure: KeyErasure, document_id: str | None = "DOC-A") -> Facts:
    keystore = FileSubject("/home/keystore.db", 8192, 7, 2049, "ext4", None, document_id)
    record = SubjectRecord(keystore, 0, (), (), None, erasure)
    certificate = replace(sample_certificate(), subjects=(record,))
    return Facts.of(certificate, "ab" * 32)


@pytest.mark.parametrize(
    ("erasure", "document_id", "expected"),
    [
        # Structured: the fields say it, whatever the text.
        (KeyErasure("sealed-document", "anything", True, "DOC-A", "k-1"), None, ("DOC-A", "k-1")),
        # Issued before the fields existed: the key reference they wrote, tied to the subject.
        (
            KeyErasure("sealed-document", "document key k-1 of DOC-A", True),
            "DOC-A",
            ("DOC-A", "k-1"),
        ),
        (
            KeyErasure("sealed-document", "document key k-1 of DOC-B", True),
            "DOC-A",
            ("DOC-A", None),
        ),
        (KeyErasure("luks", "keyslots 0-31", True), None, (None, None)),
    ],
)
def test_key_erasures_say_whose_key(
    erasure: KeyErasure, document_id: str | None, expected: tuple[str | None, str | None]
) -> None:
    assert _erasing(erasure, document_id).key_erasures == (expected,)


def test_a_key_that_was_not_destroyed_is_no_erasure() -> None:
    kept = KeyErasure("sealed-document", "x", False, "DOC-A", "k-1")
    assert _erasing(kept).key_erasures == ()
