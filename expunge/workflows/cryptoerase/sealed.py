"""Sealing a document under its own key, and unsealing it while the key exists."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from expunge.core.config import Home
from expunge.core.errors import IntegrityError, RefusedError, UsageError
from expunge.ledger.classification import ClassificationPolicy
from expunge.ledger.events import Seal
from expunge.ledger.state import DocumentState
from expunge.ledger.store import LedgerStore
from expunge.shred import sealing
from expunge.workflows import records
from expunge.workflows.cryptoerase.kek import kek_tag, station_kek
from expunge.workflows.cryptoerase.medium import destroy_in_place
from expunge.workflows.cryptoerase.opening import open_keystore

SEALED_SUFFIX = ".sealed"


@dataclass(frozen=True)
class SealedDocument:
    """What ``seal_document`` did: the sealed file, its key's id, and the ledger entries."""

    doc_id: str
    classification: str
    plain_path: str
    sealed_path: str
    registered_seq: int | None
    """The ``register`` entry this run appended (``None``: the file was registered already)."""
    seal_seq: int
    info: sealing.SealInfo

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "doc_id": self.doc_id,
            "classification": self.classification,
            "plain_path": self.plain_path,
            "sealed_path": self.sealed_path,
            "registered_seq": self.registered_seq,
            "seal_seq": self.seal_seq,
            "seal": self.info.to_dict(),
        }


def _registered_at(
    store: LedgerStore, path: str, doc_id: str | None, now: datetime
) -> DocumentState | None:
    """The document registered at ``path`` (its outstanding original), if any."""
    found = [
        loc
        for loc in records.locate(store, (path,), now).get(path, ())
        if loc.kind == "original" and loc.path == path
    ]
    if not found:
        if doc_id is not None and store.document_entries(doc_id):
            raise UsageError(
                f"{doc_id} is registered, but not at this path",
                target=path,
                remedy="seal the file registered as the document (see 'expunge ledger show')",
            )
        return None
    state = records.document(store, found[0].doc_id, now)
    if doc_id is not None and doc_id != state.doc_id:
        raise UsageError(
            f"the file is registered as {state.doc_id}, not {doc_id}",
            target=path,
            remedy=f"omit --doc, or pass --doc {state.doc_id}",
        )
    return state


def check_sealable(
    store: LedgerStore,
    content: records.FileContent,
    *,
    doc_id: str | None,
    classification: str | None,
    now: datetime,
) -> DocumentState | None:
    """Refuse what cannot be sealed, before anything is written; the registered document
    at ``content.path``, or ``None`` when sealing will register it."""
    state = _registered_at(store, content.path, doc_id, now)
    if state is None:
        if classification is None:
            raise UsageError(
                "the file is not registered: its classification is needed to register it",
                target=content.path,
                remedy="pass --classification LEVEL (or register it with 'expunge ledger "
                "register' first)",
            )
        return None
    if state.seal is not None:
        raise RefusedError(
            f"already sealed at {state.seal.sealed_path} (seq {state.seal.seq})",
            target=state.doc_id,
            remedy="a document is sealed once",
        )
    if content.digest != state.digest:
        raise RefusedError(
            f"its content is not the registered content of {state.doc_id}",
            target=content.path,
            remedy="nothing was written; check 'expunge ledger show'",
        )
    return state


def seal_document(
    home: Home,
    store: LedgerStore,
    path: str,
    *,
    doc_id: str | None,
    classification: str | None,
    policy: ClassificationPolicy,
    actor: str,
    now: datetime,
) -> SealedDocument:
    """Encrypt the document at ``path`` to ``PATH.sealed`` and record the ``seal`` event.

    An unregistered file is registered first (``classification`` required). The document
    key is wrapped under the station KEK into the key store; on any failure after the
    sealed file was written it is removed again (and a stored key destroyed), so a run
    either seals completely or leaves the ledger, the key store and the folder as they
    were. The plaintext is left in place: the caller shreds it.
    """
    content = records.read_content(path)
    state = check_sealable(store, content, doc_id=doc_id, classification=classification, now=now)
    registered_seq = None
    if state is None:
        assert classification is not None  # check_sealable refused otherwise
        entry = records.register_document(
            store,
            content,
            classification=classification,
            policy=policy,
            title=None,
            custodian=actor,
            doc_id=doc_id,
            retain_until=None,
            actor=actor,
            now=now,
        )
        registered_seq = entry.seq
        state = records.document(store, str(entry.event.doc_id), now)
    sealed_path = content.path + SEALED_SUFFIX
    kek = station_kek(home, create=True)
    document_key = sealing.new_document_key()
    info = sealing.seal_to_path(content.path, sealed_path, document_key, state.doc_id)
    try:
        with open_keystore(home, create=True) as keys:
            wrapped = sealing.wrap_key(kek, document_key)
            keys.put(state.doc_id, wrapped, kek=kek_tag(kek), now=now)
            try:
                entry = store.append(
                    Seal(state.doc_id, sealed_path, info.key_id), actor=actor, now=now
                )
            except BaseException:
                keys.destroy(state.doc_id, now=now)
                raise
    except BaseException:
        Path(sealed_path).unlink(missing_ok=True)
        raise
    return SealedDocument(
        state.doc_id,
        state.classification,
        content.path,
        sealed_path,
        registered_seq,
        entry.seq,
        info,
    )


@dataclass(frozen=True)
class Unsealed:
    """What ``unseal_document`` did: the plaintext written, and the copy recorded for it."""

    doc_id: str
    out_path: str
    info: sealing.UnsealInfo
    copy_seq: int
    """The ledger's ``copy`` entry for OUT."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"out": self.out_path, "copy_seq": self.copy_seq, **self.info.to_dict()}


def _unwrap(home: Home, sealed_path: str, header: sealing.SealHeader, wrapped: bytes) -> bytes:
    document_key = sealing.unwrap_key(station_kek(home, create=False), wrapped)
    if sealing.key_id(document_key) != header.key_id.hex():
        raise IntegrityError(
            f"this file was sealed under another key than the one stored for {header.doc_id}",
            target=sealed_path,
            remedy="unseal it with the station that sealed it",
        )
    return document_key


def unseal_document(
    home: Home,
    store: LedgerStore,
    sealed_path: str,
    out_path: str,
    *,
    actor: str,
    now: datetime,
) -> Unsealed:
    """Decrypt ``sealed_path`` into ``out_path`` with its key from the key store, and record
    OUT in the ledger as a plaintext copy of the document.

    The key store records the release (document, OUT, time) before the key is used, so a
    later crypto-erase knows plaintext existed even if this run is killed before the
    ledger hears of OUT; the ``copy`` event then makes OUT a location ``destroy`` overwrites.
    If the copy cannot be recorded, OUT is overwritten and removed again. A destroyed key
    gives ``the key of DOC was destroyed on DATE (certificate ID)`` as an IntegrityError; a
    tampered file gives the sealing module's IntegrityError and leaves no OUT behind.
    """
    header = sealing.read_sealed_header(sealed_path)
    out_path = os.path.abspath(out_path)
    records.document(store, header.doc_id, now)  # unknown to the ledger: refused first
    with open_keystore(home, create=False) as keys:
        tomb = keys.tombstone(header.doc_id)
        if tomb is not None:
            raise IntegrityError(
                tomb.describe(),
                target=sealed_path,
                remedy="the document was crypto-erased; no copy can be decrypted again",
            )
        document_key = _unwrap(home, sealed_path, header, keys.get(header.doc_id))
        keys.release(header.doc_id, out_path, now=now)
    info = sealing.unseal_to_path(sealed_path, out_path, document_key)
    try:
        entry = records.record_copy(
            store, header.doc_id, to_path=out_path, to_medium=None, actor=actor, now=now,
            plaintext=True,
        )  # fmt: skip
    except BaseException:
        destroy_in_place(Path(out_path))
        raise
    return Unsealed(header.doc_id, out_path, info, entry.seq)
