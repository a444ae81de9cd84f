"""Destroying a sealed document's key in the key store, with the scan that proves it gone."""

from __future__ import annotations

import errno
import os
from datetime import datetime

from expunge.certificates.subjects import FileSubject
from expunge.core.config import Home
from expunge.core.errors import TargetError
from expunge.ledger.keystore import SQLiteKeyStore
from expunge.ledger.state import DocumentState
from expunge.shred.fsinfo import filesystem_type
from expunge.workflows.certify.outcomes import KeyErasureOutcome


def sealed_before_copies(state: DocumentState) -> bool:
    """No plaintext outside the original: registered sealed, or sealed before any copy."""
    if state.registered_sealed:
        return True
    if state.seal is None:
        return False
    first_after_register = state.history[1] if len(state.history) > 1 else None
    return first_after_register == state.seal.seq and not any(
        loc.kind == "copy" and not loc.ciphertext for loc in state.locations
    )


def sealed_and_keyed(state: DocumentState) -> bool:
    """Whether destroying ``state`` means erasing its key: sealed, key not yet erased."""
    return state.seal is not None and state.key_erased_by is None


def erase_document_key(
    home: Home, state: DocumentState, plaintext_paths: tuple[str, ...], *, now: datetime
) -> KeyErasureOutcome:
    """Destroy the wrapped key of the sealed document ``state`` and scan the key store."""
    assert state.seal is not None
    path = home.keystore_path
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
        raise TargetError(
            "the key store is missing: the document key cannot be erased or proven gone",
            target=str(path),
            remedy="restore the key store, or check --home",
        ) from None
    with SQLiteKeyStore(path, create=False) as keys:
        destroyed = keys.destroy(state.doc_id, now=now)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fs = filesystem_type(fd)
        finally:
            os.close(fd)
    subject = FileSubject(
        str(path), st.st_size, st.st_ino, st.st_dev, fs, None, document_id=state.doc_id
    )
    return KeyErasureOutcome(
        state.doc_id,
        state.seal.key_id,
        subject,
        destroyed,
        sealed_before_copies(state),
        plaintext_paths,
    )


def record_key_certificate(home: Home, doc_id: str, certificate_id: str) -> None:
    """Name the certificate in the key's tombstone (``unseal`` then cites it)."""
    with SQLiteKeyStore(home.keystore_path, create=False) as keys:
        keys.record_certificate(doc_id, certificate_id)
