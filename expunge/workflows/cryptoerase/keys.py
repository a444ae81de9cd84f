"""Destroying a sealed document's key in the key store, with the proof that it is gone."""

from __future__ import annotations

import contextlib
import os
from datetime import datetime

from expunge.certificates.subjects import FileSubject
from expunge.core.clock import rfc3339
from expunge.core.config import Home
from expunge.core.errors import ExpungeError
from expunge.ledger.keystore import KeyOrigin, KeyStore, StoredKey
from expunge.ledger.state import DocumentState
from expunge.shred import sealing
from expunge.shred.report import Limitation
from expunge.workflows.certify.erase_work import KeyErasureOutcome
from expunge.workflows.cryptoerase.kek import kek_tag, station_kek
from expunge.workflows.cryptoerase.medium import InPlaceFacts, in_place_facts
from expunge.workflows.cryptoerase.migrate import recorded_migration
from expunge.workflows.cryptoerase.opening import open_keystore


def sealed_before_copies(state: DocumentState) -> bool:
    """No plaintext outside the original: registered sealed, or sealed before any copy,
    and no plaintext copy (an ``unseal -o``) recorded since."""
    if state.registered_sealed:
        first = True
    elif state.seal is None:
        return False
    else:
        first_after_register = state.history[1] if len(state.history) > 1 else None
        first = first_after_register == state.seal.seq
    return first and not any(loc.kind == "copy" and not loc.ciphertext for loc in state.locations)


def sealed_and_keyed(state: DocumentState) -> bool:
    """Whether destroying ``state`` means erasing its key: sealed, key not yet erased."""
    return state.seal is not None and state.key_erased_by is None


def _raw_key(home: Home, stored: StoredKey, wrapped: bytes) -> dict[str, bytes]:
    """The unwrapped key as a scan needle, when the station KEK opens it (else none: the
    wrapped bytes are still scanned for)."""
    with contextlib.suppress(ExpungeError):
        kek = station_kek(home, create=False)
        if kek_tag(kek) == stored.kek:
            return {"raw": sealing.unwrap_key(kek, wrapped)}
    return {}


def _finished_late(destroyed: datetime) -> Limitation:
    return Limitation(
        "key-erase-resumed",
        f"the key was destroyed on {rfc3339(destroyed, 'seconds')} by a run that ended before "
        "its certificate; its slot was read back from the medium now, but its bytes were no "
        "longer known, so no key-store file could be scanned for them",
        "none needed: the slot was the only place the key was ever written",
    )


def _store_limitations(
    keys: KeyStore, facts: InPlaceFacts, origin: KeyOrigin
) -> tuple[tuple[Limitation, ...], bool]:
    """What the certificate names about the key's medium and history; whether a copy of
    the key may be recovered all the same (no Purge then)."""
    limitations = list(facts.blocking)
    recoverable = not facts.reaches_blocks
    migration = recorded_migration(keys) if origin == "migrated" else None
    if migration is not None:
        limitations.extend(migration.limitations)
        recoverable = recoverable or migration.leftovers_unwrap
    return tuple(limitations), not recoverable


def erase_document_key(
    home: Home, state: DocumentState, plaintext_paths: tuple[str, ...], *, now: datetime
) -> KeyErasureOutcome:
    """Destroy the key of the sealed document ``state``: its slot overwritten in place and
    read back, every key-store file scanned for the wrapped and the raw key."""
    assert state.seal is not None
    with open_keystore(home, create=False) as keys:
        facts = in_place_facts(keys.slots_fd)
        tomb = keys.tombstone(state.doc_id)
        if tomb is not None and tomb.certificate_id is None:
            # Destroyed by a run that ended before its certificate (or finished when the
            # store was next opened): proven by the slot alone, and certified now.
            destroyed = keys.confirm_destroyed(state.doc_id)
            limitations, unrecoverable = _store_limitations(keys, facts, tomb.origin)
            limitations = (*limitations, _finished_late(tomb.destroyed))
        else:
            wrapped = keys.get(state.doc_id)  # says when it was destroyed, if it was
            stored = keys.info(state.doc_id)
            assert stored is not None
            limitations, unrecoverable = _store_limitations(keys, facts, stored.origin)
            raw = _raw_key(home, stored, wrapped)
            destroyed = keys.destroy(state.doc_id, now=now, also_scan=raw)
        released = tuple(dict.fromkeys(r.path for r in keys.releases(state.doc_id)))
        st = os.fstat(keys.slots_fd)
        subject = FileSubject(
            str(keys.slots_path),
            st.st_size,
            st.st_ino,
            st.st_dev,
            facts.filesystem,
            None,
            document_id=state.doc_id,
        )
    return KeyErasureOutcome(
        state.doc_id,
        state.seal.key_id,
        subject,
        destroyed,
        sealed_before_copies(state),
        plaintext_paths,
        unsealed_to=released,
        limitations=limitations,
        key_unrecoverable=unrecoverable,
    )


def record_key_certificate(home: Home, doc_id: str, certificate_id: str) -> None:
    """Name the certificate in the key's tombstone (``unseal`` then cites it)."""
    with open_keystore(home, create=False) as keys:
        keys.record_certificate(doc_id, certificate_id)
