"""The key store: a slot file for key material, an index for everything else.

``<home>/keystore/slots`` holds each wrapped key in one fixed slot (``slots``);
``<home>/keystore/index.db`` says which slot is whose (``index``). Wrapping is the caller's
business: the store keeps opaque bytes and the tag of the KEK that wrapped them.

**One writer at a time.** Storing and destroying hold an exclusive ``flock`` on the slot
file, reads a shared one, so no slot is read while it is being rewritten.

**Crash safety.** Every change goes index first, then slot, then index, each step durable
before the next (``synchronous=FULL``; ``pwrite`` + ``fdatasync``):

- *store*: row ``writing`` -> slot written and read back -> row ``live``; only then does
  ``put`` return. A row left ``writing`` by a killed process is rolled back (slot zeroed,
  row removed): its caller never heard of the key, so no ledger entry can refer to it.
- *destroy*: row ``destroying`` -> slot zeroed and read back -> row replaced by a
  tombstone. From the first step on the key is never handed out again; a row left
  ``destroying`` is finished by the next process that opens the store. So a kill -9 can
  neither leave a key half-destroyed and reported destroyed, nor lose a live key.

The index is checked against the self-describing slots: a slot the index does not know
that holds a key is never reused, and a lost index is rebuilt from the slots.

**The proof.** ``destroy`` returns the slot read back from the medium (``O_DIRECT``: zeros)
and a scan of every file in the store's folder for the wrapped key (and the raw key, when
the caller gives it); a key is reported destroyed only when both are clean.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from expunge.core.errors import (
    IntegrityError,
    MediaIOError,
    RefusedError,
    TargetError,
    UsageError,
)
from expunge.ledger.events import utc_second
from expunge.ledger.ids import validate_document_id
from expunge.ledger.keystore.index import KeyIndex, KeyRow
from expunge.ledger.keystore.model import (
    DestroyedKey,
    KeyOrigin,
    Release,
    Residue,
    SlotCheck,
    StoredKey,
    Tombstone,
)
from expunge.ledger.keystore.scan import ScanResult, scan_files
from expunge.ledger.keystore.slots import (
    KEK_TAG_BYTES,
    MAX_WRAPPED,
    RESTORE,
    SLOT_SIZE,
    SlotContent,
    SlotFile,
    decode_slot,
    is_kek_tag,
    read_back,
    slot_errors,
    slot_offset,
)

SLOTS_NAME = "slots"
INDEX_NAME = "index.db"


class KeyStore:
    """Wrapped document keys in ``<home>/keystore/``, destroyed in place and proven gone."""

    def __init__(
        self, folder: str | os.PathLike[str], *, create: bool = True, timeout: float = 30.0
    ):
        """Open the store in ``folder`` (created, mode 0700, when ``create`` allows), and
        finish whatever a killed process left half done."""
        self.folder = Path(folder)
        self.timeout = timeout
        self._after_close: list[BinaryIO] = []
        if not (self.folder / SLOTS_NAME).exists() and not create:
            raise TargetError(
                "there is no key store here: nothing was ever sealed with this home",
                target=str(self.folder),
                remedy="check --home (the home that sealed the document)",
            )
        with slot_errors("create the key store", str(self.folder)):
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._slots = SlotFile(str(self.folder / SLOTS_NAME), create=create)
        try:
            self._index = self._open_index()
        except BaseException:
            self._slots.close()
            raise
        try:
            self.recover()
        except BaseException:
            self.close()
            raise

    def _open_index(self) -> KeyIndex:
        return KeyIndex(
            self.folder / INDEX_NAME, store_id=self._slots.store_id, timeout=self.timeout
        )

    def _scan(self, needles: Mapping[str, bytes], extra_files: Sequence[Path] = ()) -> ScanResult:
        """Scan every file of the store (and ``extra_files``) for ``needles``.

        SQLite's locks are POSIX locks, which a process loses on *every* descriptor it
        closes on the file: closing the index's files after reading them would let another
        process reset the shared memory under this connection. So they are read through
        descriptors kept open until the connection itself is closed (``close``).
        """
        opened: list[BinaryIO] = []
        try:
            for path in [*self.files(), *extra_files]:
                with contextlib.suppress(FileNotFoundError):
                    opened.append(open(path, "rb"))  # noqa: SIM115 - closed after the index
            return scan_files([Path(f.name) for f in opened], needles, opened)
        finally:
            self._after_close.extend(opened)

    def __enter__(self) -> KeyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the index and the slot file (then the files the key-scan read)."""
        self._index.close()
        self._slots.close()
        for f in self._after_close:
            f.close()
        self._after_close.clear()

    @property
    def slots_path(self) -> Path:
        """The slot file: the only file that ever holds key material."""
        return Path(self._slots.path)

    @property
    def slots_fd(self) -> int:
        """The slot file's descriptor (for facts about its filesystem)."""
        return self._slots.fd

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the writer lock across several operations (a migration)."""
        with self._slots.locked(exclusive=True, timeout=self.timeout):
            yield

    def _locked(self, doing: str, *, exclusive: bool) -> contextlib.ExitStack:
        stack = contextlib.ExitStack()
        stack.enter_context(self._index.errors(doing))
        stack.enter_context(slot_errors(doing, self._slots.path))
        stack.enter_context(self._slots.locked(exclusive=exclusive, timeout=self.timeout))
        return stack

    # -- recovery ---------------------------------------------------------------------

    def recover(self) -> None:
        """Roll back unfinished stores, finish unfinished destructions, rebuild a lost index."""
        with self._locked("read the key store", exclusive=False):
            pending = any(r.state != "live" for r in self._index.rows())
        if not pending and not self._index.created:
            return
        with self._locked("recover the key store", exclusive=True):
            if self._index.created:
                self._rebuild()
                self._index.created = False
            for row in self._index.rows("writing"):
                self._clear(row.key, "roll back an unfinished store")
                with self._index.transaction():
                    self._index.delete(row.key.doc_id)
            for row in self._index.rows("destroying"):
                self._finish_destroy(row)

    def _rebuild(self) -> None:
        """A new index beside a slot file holding keys: take them in as live keys."""
        known = {r.key.doc_id for r in self._index.rows()}
        found: list[StoredKey] = []
        for slot in range(self._slots.count()):
            content = self._slots.read(slot)
            if content is not None and content.doc_id not in known:
                found.append(self._stored(content, slot, "sealed"))
        if found:
            with self._index.transaction():
                for key in found:
                    self._index.insert(key, "live")

    def _clear(self, key: StoredKey, doing: str) -> SlotCheck:
        check = self._slots.zero(key.slot)
        if not check.matches:
            raise MediaIOError(
                f"cannot {doing}: key slot {key.slot} did not read back as zeros",
                target=self._slots.path,
                remedy="check the home's disk; the key stays marked and is retried",
            )
        return check

    def _finish_destroy(self, row: KeyRow) -> tuple[Tombstone, SlotCheck]:
        check = self._clear(row.key, "destroy the key")
        assert row.destroyed is not None
        key = row.key
        tomb = Tombstone(key.doc_id, key.key_id, row.destroyed, None, key.origin, key.slot)
        with self._index.transaction():
            self._index.delete(row.key.doc_id)
            self._index.bury(tomb)
        return tomb, check

    # -- reading ----------------------------------------------------------------------

    def _gone(self, doc_id: str, row: KeyRow | None) -> TargetError:
        tomb = self._index.tombstone(doc_id)
        if tomb is not None:
            return TargetError(
                tomb.describe(),
                target=doc_id,
                remedy="its sealed copies can never be decrypted again",
            )
        if row is not None and row.state == "destroying":
            return TargetError(
                "the key of this document is being destroyed",
                target=doc_id,
                remedy="its sealed copies can never be decrypted again",
            )
        return TargetError(
            "no key for this document in the key store",
            target=doc_id,
            remedy=f"check that {self.folder} is the key store it was sealed with (--home)",
        )

    def _live_content(self, doc_id: str) -> tuple[KeyRow, SlotContent]:
        row = self._index.key(doc_id)
        if row is None or row.state != "live":
            raise self._gone(doc_id, row)
        content = self._slots.read(row.key.slot)
        key = row.key
        if content is None or (content.doc_id, content.key_id, content.kek) != (
            key.doc_id,
            key.key_id,
            key.kek,
        ):
            raise IntegrityError(
                f"key slot {key.slot} does not hold the key the index names for {doc_id}",
                target=self._slots.path,
                remedy=RESTORE,
            )
        return row, content

    def info(self, doc_id: str) -> StoredKey | None:
        """The live key of ``doc_id`` (without its bytes), or ``None``."""
        with self._locked("read the key store", exclusive=False):
            row = self._index.key(doc_id)
        return row.key if row is not None and row.state == "live" else None

    def live_keys(self) -> tuple[StoredKey, ...]:
        """Every live key, in slot order."""
        with self._locked("read the key store", exclusive=False):
            return tuple(r.key for r in self._index.rows("live"))

    def get(self, doc_id: str) -> bytes:
        """The wrapped key of ``doc_id``; a ``TargetError`` saying when it was destroyed."""
        with self._locked("read the key store", exclusive=False):
            return self._live_content(doc_id)[1].wrapped

    def release(self, doc_id: str, path: str, *, now: datetime) -> bytes:
        """The wrapped key of ``doc_id``, handed out to write plaintext at ``path``: the
        release is recorded (durably) before the key is returned."""
        with self._locked("read the key store", exclusive=False):
            _, content = self._live_content(doc_id)
            with self._index.transaction():
                self._index.add_release(Release(doc_id, path, utc_second(now)))
            return content.wrapped

    def releases(self, doc_id: str) -> tuple[Release, ...]:
        """Every time ``doc_id``'s key was handed out to write plaintext."""
        with self._locked("read the key store", exclusive=False):
            return self._index.releases(doc_id)

    def tombstone(self, doc_id: str) -> Tombstone | None:
        """What remains of ``doc_id``'s destroyed key, or ``None`` if it was never destroyed."""
        with self._locked("read the key store", exclusive=False):
            return self._index.tombstone(doc_id)

    def meta(self, key: str) -> str | None:
        """A fact recorded about the store (``note``)."""
        with self._locked("read the key store", exclusive=False):
            return self._index.meta(key)

    # -- writing ----------------------------------------------------------------------

    def note(self, key: str, value: str) -> None:
        """Record a fact about the store (for instance, when it was migrated)."""
        with self._locked("update the key store", exclusive=True), self._index.transaction():
            self._index.set_meta(key, value)

    def _stored(self, content: SlotContent, slot: int, origin: KeyOrigin) -> StoredKey:
        return StoredKey(content.doc_id, content.key_id, content.created, content.kek, slot, origin)

    def _free_slot(self) -> int:
        used = self._index.used_slots()
        slot = next((n for n, u in enumerate(used) if n != u), len(used))
        self._slots.grow(slot)
        found = self._slots.read(slot)
        if found is not None:
            raise IntegrityError(
                f"key slot {slot} holds the key of {found.doc_id}, which the index does not "
                "know (the index is older than the slots)",
                target=str(self._index.path),
                remedy=f"move {self._index.path} away: it is rebuilt from the slots",
            )
        return slot

    def put(
        self,
        doc_id: str,
        wrapped_key: bytes,
        *,
        kek: str,
        now: datetime,
        key_id: str | None = None,
        origin: KeyOrigin = "sealed",
    ) -> StoredKey:
        """Store the wrapped key of ``doc_id`` (wrapped under the KEK tagged ``kek``).

        Refused when the document already has a key, or had one that was destroyed. The
        key is on the medium, read back, when this returns.
        """
        validate_document_id(doc_id)
        if not 0 < len(wrapped_key) <= MAX_WRAPPED:
            raise UsageError(
                f"a wrapped key must be 1 to {MAX_WRAPPED} bytes", target=doc_id, remedy=""
            )
        if not is_kek_tag(kek):
            raise UsageError(f"a KEK tag is {KEK_TAG_BYTES} bytes in hex", target=doc_id)
        with self._locked("store the key", exclusive=True):
            tomb = self._index.tombstone(doc_id)
            if tomb or self._index.key(doc_id):
                raise RefusedError(
                    tomb.describe() if tomb else "the document already has a key",
                    target=doc_id,
                    remedy="a document is sealed once, under one key",
                )
            content = SlotContent(
                doc_id=doc_id,
                key_id=key_id or secrets.token_hex(16),
                kek=kek,
                created=utc_second(now),
                wrapped=bytes(wrapped_key),
            )
            key = self._stored(content, self._free_slot(), origin)
            with self._index.transaction():
                self._index.insert(key, "writing")
            try:
                check = self._slots.write(key.slot, content)
                if not check.matches:
                    raise MediaIOError(
                        f"key slot {key.slot} did not read back as written",
                        target=self._slots.path,
                        remedy="check the home's disk",
                    )
            except BaseException:
                with contextlib.suppress(Exception):  # else the next open rolls it back
                    self._clear(key, "roll back the store")
                    with self._index.transaction():
                        self._index.delete(doc_id)
                raise
            with self._index.transaction():
                self._index.set_state(doc_id, "live")
        return key

    def bury(self, tomb: Tombstone) -> None:
        """Take over the tombstone of a key destroyed elsewhere (a migrated store)."""
        with self._locked("update the key store", exclusive=True):
            if self._index.tombstone(tomb.doc_id) is None and self._index.key(tomb.doc_id) is None:
                with self._index.transaction():
                    self._index.bury(tomb)

    def record_certificate(self, doc_id: str, certificate_id: str) -> Tombstone:
        """Fill in the certificate of a destroyed key (issued after the destruction)."""
        with self._locked("update the key store", exclusive=True):
            tomb = self._index.tombstone(doc_id)
            if tomb is None:
                raise TargetError(
                    "no destroyed key for this document", target=doc_id, remedy="destroy it first"
                )
            with self._index.transaction():
                self._index.set_certificate(doc_id, certificate_id)
        return replace(tomb, certificate_id=certificate_id)

    def destroy(
        self,
        doc_id: str,
        *,
        now: datetime,
        also_scan: Mapping[str, bytes] | None = None,
        extra_files: Sequence[Path] = (),
    ) -> DestroyedKey:
        """Zero the slot of ``doc_id``'s key in place, read it back, and scan for its bytes.

        ``also_scan`` names more needles (the raw key, which only the caller can unwrap);
        ``extra_files`` are scanned beside the store's own. ``verified`` is false when the
        slot did not read back as zeros or any needle was found.
        """
        with self._locked("destroy the key", exclusive=True):
            row, content = self._live_content(doc_id)
            when = utc_second(now)
            with self._index.transaction():
                self._index.set_state(doc_id, "destroying", when)
            tomb, check = self._finish_destroy(KeyRow(row.key, "destroying", when))
            needles = {"wrapped": content.wrapped, **(also_scan or {})}
            scan = self._scan(needles, extra_files)
        return DestroyedKey(
            tombstone=tomb,
            key_length=len(content.wrapped),
            slot=check,
            files_scanned=scan.files,
            bytes_scanned=scan.bytes_scanned,
            needles=tuple(needles),
            residue=scan.residue,
        )

    def integrity_check(self) -> tuple[str, ...]:
        """What is wrong with the store, one line each (empty when sound): SQLite's check
        of the index, every live key against its slot, every used slot against a key."""
        with self._locked("check the key store", exclusive=False):
            problems = list(self._index.integrity_check())
            rows = {r.key.slot: r for r in self._index.rows()}
            for slot in range(self._slots.count()):
                try:
                    content = self._slots.read(slot)
                except IntegrityError as exc:
                    problems.append(exc.message + f" (slot {slot})")
                    continue
                row = rows.get(slot)
                if row is None and content is not None:
                    problems.append(f"slot {slot} holds the key of {content.doc_id}, unindexed")
                elif (
                    row is not None
                    and row.state == "live"
                    and (content is None or content.key_id != row.key.key_id)
                ):
                    problems.append(f"slot {slot} does not hold the key of {row.key.doc_id}")
        return tuple(problems)

    def confirm_destroyed(self, doc_id: str) -> DestroyedKey:
        """The proof for a key destroyed but not yet certified (a run killed after the erase,
        or an erase a killed run left to the next open): its slot read back from the medium
        now, holding no trace of it (zeros, or another key since). The wrapped bytes are no
        longer known, so there is nothing to scan the files for (``needles`` is empty)."""
        with self._locked("read the key store", exclusive=False):
            tomb = self._index.tombstone(doc_id)
            if tomb is None or tomb.certificate_id is not None or tomb.slot is None:
                raise self._gone(doc_id, self._index.key(doc_id))
            offset = slot_offset(tomb.slot)
            data, bypass = read_back(self._slots.fd, offset, SLOT_SIZE)
            try:
                content = decode_slot(data, f"{self._slots.path} slot {tomb.slot}")
                clean = content is None or content.key_id != tomb.key_id
            except IntegrityError:
                clean = False  # torn on the medium: part of the old key may be left
        check = SlotCheck(offset, SLOT_SIZE, clean, bypass)
        return DestroyedKey(tomb, 0, check, (), 0, (), ())

    # -- the proof ----------------------------------------------------------------------

    def files(self) -> tuple[Path, ...]:
        """Every regular file in the store's folder: the slots, the index and its side files."""
        return tuple(sorted(p for p in self.folder.iterdir() if p.is_file()))

    def scan_for(self, needle: bytes) -> list[Residue]:
        """Every place ``needle`` occurs in the store's files."""
        with self._locked("scan the key store", exclusive=False):
            return list(self._scan({"needle": needle}).residue)
