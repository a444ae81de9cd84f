"""A plaintext copy of a sealed document (what ``unseal -o`` writes) is a location of its own.

The ``plaintext`` flag of a ``copy`` event is written only when true, so every copy event
recorded before it existed reads and hashes exactly as before.
"""

from __future__ import annotations

import pytest

from expunge.core.canonical import canonical_bytes
from expunge.core.errors import IntegrityError
from expunge.ledger.events import Copy, Seal, event_from_dict
from expunge.ledger.state import document_state
from tests.support.ledger import NOW, chain, destroy, register


def test_the_flag_round_trips_and_old_copies_read_as_before() -> None:
    old = {"type": "copy", "doc_id": "DOC-1", "to_path": "/a", "to_medium": None}
    assert event_from_dict(old) == Copy("DOC-1", "/a")
    assert canonical_bytes(Copy("DOC-1", "/a").to_dict()) == canonical_bytes(old)
    plain = Copy("DOC-1", "/out", plaintext=True)
    assert plain.to_dict()["plaintext"] is True
    assert event_from_dict(plain.to_dict()) == plain
    with pytest.raises(IntegrityError, match="only when true"):
        event_from_dict({**old, "plaintext": False})
    with pytest.raises(IntegrityError, match="true or false"):
        event_from_dict({**old, "plaintext": "yes"})


def test_a_plaintext_copy_of_a_sealed_document_is_not_killed_by_its_key() -> None:
    entries = chain(
        [
            register("DOC-1"),
            Seal("DOC-1", "/docs/DOC-1.pdf.sealed", "k1"),
            Copy("DOC-1", "/usb/DOC-1.pdf.sealed"),
            Copy("DOC-1", "/home/me/DOC-1.pdf", plaintext=True),
            destroy("DOC-1", key_erased=True),
        ]
    )
    state = document_state(entries, "DOC-1", NOW)
    assert state is not None
    kinds = {loc.path: (loc.ciphertext, loc.outstanding) for loc in state.locations}
    assert kinds["/usb/DOC-1.pdf.sealed"] == (True, False)  # ciphertext: dies with the key
    assert kinds["/home/me/DOC-1.pdf"] == (False, True)  # plaintext: still outstanding
