"""Recording documents, their copies and custody: ``register``, ``copy``, ``transfer``, and
``write-off`` of a copy nobody can bring back."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from expunge.core import paths
from expunge.core.errors import RefusedError, TargetError, UsageError
from expunge.ledger.classification import ClassificationPolicy
from expunge.ledger.entries import Entry
from expunge.ledger.events import Copy, Register, Transfer, WriteOff
from expunge.ledger.locations import Location
from expunge.ledger.store import LedgerStore
from expunge.workflows.records.content import FileContent, read_content
from expunge.workflows.records.locate import document, locate


def _refuse_taken(store: LedgerStore, path: str, now: datetime) -> None:
    taken = locate(store, (path,), now).get(path, ())
    if taken:
        raise UsageError(
            f"{taken[0].doc_id} is already recorded here (seq {taken[0].seq})",
            target=path,
            remedy="one path holds one document: destroy it first, or choose another path",
        )


def require_text_path(path: str) -> None:
    """Refuse a path the ledger cannot record: one that is not UTF-8."""
    # Ledger entries hold paths as text (event format v2 has no raw-bytes form yet);
    # refusing here, before anything is appended, keeps the chain canonical.
    if paths.is_raw(path):
        raise TargetError(
            "the ledger cannot record a path that is not UTF-8",
            target=paths.readable(path),
            remedy="rename it (or its folder) to a UTF-8 name first; 'expunge shred' "
            "destroys it without registering",
        )


def register_document(
    store: LedgerStore,
    content: FileContent,
    *,
    classification: str,
    policy: ClassificationPolicy,
    title: str | None,
    custodian: str,
    doc_id: str | None,
    retain_until: datetime | None,
    actor: str,
    now: datetime,
) -> Entry:
    """Register the file read as ``content`` (``read_content``), its level checked
    against ``policy``; the id is generated (``DOC-<year>-<n>``) unless given."""
    policy.require(classification)
    require_text_path(content.path)
    _refuse_taken(store, content.path, now)

    def make(new_id: str) -> Register:
        return Register(
            doc_id=new_id,
            title=Path(content.path).name if title is None else title,
            classification=classification,
            custodian=custodian,
            path=content.path,
            size=content.size,
            digest=content.digest,
            retain_until=retain_until,
        )

    if doc_id is None:
        return store.register_new(make, actor=actor, now=now)
    return store.append(make(doc_id), actor=actor, now=now)


def record_copy(
    store: LedgerStore,
    doc_id: str,
    *,
    to_path: str | None,
    to_medium: str | None,
    actor: str,
    now: datetime,
    plaintext: bool = False,
) -> Entry:
    """Record a copy of ``doc_id``. A copy at a path must exist and, for a plaintext
    document or a ``plaintext`` copy of a sealed one (``unseal``), hold the registered
    content (its digest is compared)."""
    state = document(store, doc_id, now)
    if to_path is not None:
        content = read_content(to_path)
        to_path = content.path
        require_text_path(to_path)
        if (plaintext or not state.primary.ciphertext) and content.digest != state.digest:
            raise TargetError(
                f"not a copy of {doc_id}: its content differs from the registered one",
                target=to_path,
                remedy="copy the document there first, then record the copy",
            )
        _refuse_taken(store, to_path, now)
    copy = Copy(doc_id, to_path, to_medium, plaintext=plaintext and state.primary.ciphertext)
    return store.append(copy, actor=actor, now=now)


def record_transfer(
    store: LedgerStore, doc_id: str, custodian: str, *, actor: str, now: datetime
) -> Entry:
    """Record that custody of ``doc_id`` passes to ``custodian``."""
    document(store, doc_id, now)
    return store.append(Transfer(doc_id, custodian), actor=actor, now=now)


def _copy_named(locations: tuple[Location, ...], copy: str) -> Location:
    """The copy ``copy`` names: its seq, its path, or its medium's token."""
    if copy.isdigit():
        found = [loc for loc in locations if loc.seq == int(copy)]
    elif copy.startswith(("/", ".")):
        found = [loc for loc in locations if loc.path == os.path.abspath(copy)]
    else:
        found = [loc for loc in locations if loc.medium == copy]
    outstanding = [loc for loc in found if loc.outstanding]
    listed = ", ".join(f"seq {loc.seq}: {loc.describe()}" for loc in locations if loc.outstanding)
    if len(outstanding) == 1:
        return outstanding[0]
    if outstanding:
        raise UsageError(
            f"{copy} names {len(outstanding)} outstanding copies",
            target="--copy",
            remedy=f"name one by its seq ({listed})",
        )
    if found:
        raise RefusedError(
            f"the copy {copy} is not outstanding ({found[-1].status})",
            target="--copy",
            remedy="only an outstanding copy can be written off",
        )
    raise UsageError(
        f"no recorded copy matches {copy}",
        target="--copy",
        remedy=f"outstanding copies: {listed}"
        if listed
        else "the document has no outstanding copy",
    )


def record_write_off(
    store: LedgerStore,
    doc_id: str,
    *,
    copy: str,
    reason: str,
    witness: str,
    actor: str,
    now: datetime,
) -> Entry:
    """Close the outstanding copy of ``doc_id`` that ``copy`` names (the seq of its ``copy``
    entry, its path, or its medium token) with a signed ``write-off`` event."""
    state = document(store, doc_id, now)
    target = _copy_named(state.copies, copy)
    return store.append(WriteOff(doc_id, target.seq, reason, witness), actor=actor, now=now)
