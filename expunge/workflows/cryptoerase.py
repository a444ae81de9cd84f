"""Cryptographic erase of sealed documents: seal, unseal, and destroy the key (layer 2).

A sealed document lives encrypted (``shred.sealing``) under its own document key; the key is
kept wrapped under the station's key-encryption key (``<home>/station.kek``, mode 0600) in
the key store (``<home>/keystore.db``), never beside the file. Destroying the wrapped key
(``SQLiteKeyStore.destroy``) kills every copy of the ciphertext at once, wherever it went:
NIST SP 800-88 cryptographic erase.

**Registration.** ``seal_document`` seals a registered document, or registers the file first
(``--classification`` is then required), so ``expunge seal PATH`` alone puts a new file
under the ledger's control. The ``seal`` event is recorded before the plaintext is
shredded (by ``destroy.seal_document``, with its own certificate).

**When the erase is Purge.** The certificate of a key erasure claims NIST Purge only when no
plaintext ever existed outside the original file, which the seal command overwrote: the
``seal`` event is the document's first event after ``register`` (no copy of the plaintext
was recorded before it), or the document was registered already sealed. Otherwise plaintext
copies may exist beyond the ledger's knowledge; the erase is then claimed as Clear and the
certificate names the plaintext copies that were overwritten.

The key-absence proof is a ``key-scan`` verification: every file of the key store (the
database and its ``-wal``/``-journal``/``-shm`` files) is scanned for the wrapped key's
bytes; each place they are found is a mismatch, and fails the certificate.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from expunge.certificates.subjects import (
    FileSubject,
)
from expunge.core.atomic import write_new
from expunge.core.clock import utc_now
from expunge.core.config import Home
from expunge.core.errors import IntegrityError, RefusedError, TargetError, UsageError
from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.ledger.classification import ClassificationPolicy
from expunge.ledger.events import Seal
from expunge.ledger.keystore import SQLiteKeyStore
from expunge.ledger.state import DocumentState
from expunge.ledger.store import LedgerStore
from expunge.shred import luks, sealing
from expunge.shred.fsinfo import filesystem_type
from expunge.shred.methods import Method, resolve
from expunge.shred.overwrite import PassOptions, run_passes
from expunge.shred.report import PassResult
from expunge.verify import VerificationReport
from expunge.workflows import certify, records
from expunge.workflows.certify.outcomes import KeyErasureOutcome, LuksWork

SEALED_SUFFIX = ".sealed"
_KEK_MODE = 0o600


# ---------------------------------------------------------------- the station KEK


def station_kek(home: Home, *, create: bool) -> bytes:
    """The station's key-encryption key (``<home>/station.kek``), created when ``create``.

    Refused when the file is readable by group or others, or is not 32 bytes: a KEK that
    leaked or was damaged would make every sealed document readable or unreadable.
    """
    path = home.kek_path
    if create and not path.exists():
        home.ensure()
        # A concurrent run may have created it first: then that one is the KEK.
        with contextlib.suppress(FileExistsError):
            write_new(path, sealing.new_kek(), _KEK_MODE)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise TargetError(
            "there is no station key-encryption key: nothing was ever sealed here",
            target=str(path),
            remedy="check --home (the home that sealed the document)",
        ) from None
    except OSError as exc:
        raise TargetError(
            f"cannot read the key-encryption key: {exc.strerror}",
            target=str(path),
            remedy="check the file and its permissions",
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        data = os.read(fd, sealing.KEY_BYTES + 1)
    finally:
        os.close(fd)
    if stat.S_IMODE(mode) & 0o077:
        raise RefusedError(
            f"the key-encryption key is accessible to others (mode {stat.S_IMODE(mode):o})",
            target=str(path),
            remedy=f"chmod 600 {path}",
        )
    if len(data) != sealing.KEY_BYTES:
        raise IntegrityError(
            f"the key-encryption key is {len(data)} bytes, not {sealing.KEY_BYTES}",
            target=str(path),
            remedy="restore it from a backup: without it, sealed documents cannot be unsealed",
        )
    return data


# ---------------------------------------------------------------- sealing


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
        with SQLiteKeyStore(home.keystore_path) as keys:
            keys.put(state.doc_id, sealing.wrap_key(kek, document_key), now=now)
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


def unseal_document(home: Home, sealed_path: str, out_path: str) -> sealing.UnsealInfo:
    """Decrypt ``sealed_path`` into ``out_path`` with its key from the key store.

    A destroyed key gives ``the key of DOC was destroyed on DATE (certificate ID)`` as an
    IntegrityError (every copy of the ciphertext is noise now); a tampered file gives the
    sealing module's IntegrityError and leaves no ``out_path`` behind.
    """
    header = sealing.read_sealed_header(sealed_path)
    if not home.keystore_path.exists():
        raise TargetError(
            "there is no key store here: nothing was ever sealed with this home",
            target=str(home.keystore_path),
            remedy="check --home (the home that sealed the document)",
        )
    with SQLiteKeyStore(home.keystore_path, create=False) as keys:
        tomb = keys.tombstone(header.doc_id)
        if tomb is not None:
            raise IntegrityError(
                tomb.describe(),
                target=sealed_path,
                remedy="the document was crypto-erased; no copy can be decrypted again",
            )
        wrapped = keys.get(header.doc_id)
    document_key = sealing.unwrap_key(station_kek(home, create=False), wrapped)
    if sealing.key_id(document_key) != header.key_id.hex():
        raise IntegrityError(
            f"this file was sealed under another key than the one stored for {header.doc_id}",
            target=sealed_path,
            remedy="unseal it with the station that sealed it",
        )
    return sealing.unseal_to_path(sealed_path, out_path, document_key)


# ---------------------------------------------------------------- destroying the key


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


# ---------------------------------------------------------------- LUKS volumes


def check_luks_volume(fd: int, name: str) -> luks.LuksLayout:
    """The layout of the LUKS volume open as ``fd``; refused (exit 3) when it is not LUKS
    or is open (a dm-crypt holder). Writes nothing."""
    layout = luks.read_layout(fd, name=name)
    luks.refuse_if_open(fd, name=name)
    return layout


@dataclass(frozen=True)
class LuksContainerErase:
    """``expunge shred -m luks-erase FILE``: the container (kept) and its certificate."""

    path: str
    work: LuksWork
    certificate: certify.IssuedCertificate

    @property
    def status(self) -> str:
        """The erase's status."""
        return self.work.status

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "path": self.path,
            "status": self.status,
            "luks": self.work.report.to_dict(),
            "then": [p.to_dict() for p in self.work.then_passes],
            "certificate": str(self.certificate.path),
            "certificate_outcome": self.certificate.outcome,
        }


def _refuse_if_attached(st: os.stat_result, path: str) -> None:
    """A container behind a loop device may be opened through it at any moment."""
    key = luks.VolumeKey.from_stat(st)
    loops = [u.name for u in luks.read_block_uses() if u.backing == key]
    if loops:
        raise RefusedError(
            f"is attached to {', '.join(loops)}; nothing was written",
            target=path,
            remedy="close and detach it first (cryptsetup close NAME; losetup -d DEVICE)",
        )


def erase_luks_container(
    path: str,
    station: certify.Station,
    *,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
    cert_out: Path | None = None,
) -> LuksContainerErase:
    """Crypto-erase the LUKS container file at ``path`` (kept: only its keys are destroyed).

    Refused before any write when it is not a regular file, not LUKS, or open (attached to
    a loop device or mapped by dm-crypt).
    """
    path = os.path.abspath(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise TargetError(
            f"cannot open the container: {exc.strerror}",
            target=path,
            remedy="name an existing LUKS container file you may write",
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RefusedError(
                "is not a regular file; nothing was written",
                target=path,
                remedy="wipe block devices with 'expunge drive wipe -m luks-erase'",
            )
        layout = check_luks_volume(fd, path)
        _refuse_if_attached(st, path)
        station.ready()
        started = utc_now()
        options = PassOptions(buffered=True, progress=progress, task=path, stop=stop)
        report = luks.luks_erase(fd, layout, options=options)
        finished = utc_now()
        fs = filesystem_type(fd)
    finally:
        os.close(fd)
    work = LuksWork(report)
    subject = FileSubject(path, st.st_size, st.st_ino, st.st_dev, fs)
    stopped = report.status == "interrupted" and stop is not None
    draft = certify.luks_container_draft(
        work,
        subject,
        started=started,
        finished=finished,
        interrupted_by=(stop.reason or "stopped") if stop is not None and stopped else None,
    )
    return LuksContainerErase(path, work, certify.issue(draft, station, cert_out))


def erase_luks(
    fd: int,
    name: str,
    size: int,
    options: PassOptions,
    *,
    then: Method | None = None,
    read_back: Callable[[PassResult], VerificationReport | None] | None = None,
) -> LuksWork:
    """Crypto-erase the LUKS volume open (read-write) as ``fd``, then overwrite all of it
    with ``then`` when given (read back with ``read_back``, after the last pass).

    Checked again on the descriptor first (not LUKS, or open: refused, nothing written).
    The overwrite runs only after the erase read back clean.
    """
    report = luks.luks_erase(fd, check_luks_volume(fd, name), options=options)
    planned = resolve(then) if then is not None else ()
    if not planned or report.status != "success":
        return LuksWork(report, then, (), len(planned))
    errors: list[str] = []
    results: tuple[PassResult, ...] = ()
    try:
        results = run_passes(fd, size, planned, options)
    except OSError as exc:
        errors.append(f"writing stopped: {exc.strerror}")
    complete = len(results) == len(planned) and all(p.complete for p in results)
    check = read_back(results[-1]) if complete and read_back is not None else None
    return LuksWork(report, then, results, len(planned), check, tuple(errors))
