"""The slot file: wrapped keys in fixed places, overwritten in place, read back from the medium.

Every wrapped key the station ever holds is written to exactly one place: a 512-byte slot of
``<home>/keystore/slots``. The file is allocated with real blocks before a slot is used
(zeros written and synced, never a hole or an unwritten extent), and the store only ever
writes into it with ``pwrite`` at a slot's offset followed by ``fdatasync``: nothing is
appended next to a key, moved, journaled, compacted or rewritten elsewhere. On a
filesystem that overwrites file blocks in place (ext4 in ordered mode, XFS without shared
extents), zeroing a slot therefore reaches the only block that ever held the key, which is
what ``shred`` relies on too; the read-back goes around the page cache (``O_DIRECT``) to
see what the medium holds.

A slot is self-describing (document id, key id, KEK tag, creation time, the wrapped key,
and a BLAKE3 digest that detects a torn write), so the index can be checked against it. A
free slot is all zeros.

Layout: a 4096-byte header (magic, version, slot size, the store's random id, digest),
then slot ``n`` at ``4096 + 512 * n``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import mmap
import os
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import blake3

from expunge.core.atomic import fsync_dir
from expunge.core.blockdev import DIRECT_IO_ALIGN, pread_full, reopen_direct, round_up
from expunge.core.errors import BusyError, IntegrityError, MediaIOError, TargetError
from expunge.ledger.keystore.model import CacheBypass, SlotCheck

HEADER_SIZE = 4096
SLOT_SIZE = 512
MAX_WRAPPED = 256
KEY_ID_BYTES = 16
KEK_TAG_BYTES = 8
MAX_DOC_ID = 64
GROWTH_MIN = 64
GROWTH_MAX = 8192

_MAGIC = b"expunge-keyslots"
_VERSION = 1
_HEADER = struct.Struct("=16sHH16s")
_SLOT_MAGIC = b"EXKS"
# magic, version, doc id length, wrapped length, key id, KEK tag, created (Unix seconds)
_SLOT_HEAD = struct.Struct("=4sBBH16s8sQ")
_DOC_AT = _SLOT_HEAD.size
_WRAPPED_AT = _DOC_AT + MAX_DOC_ID
_DIGEST_AT = SLOT_SIZE - 32
_ZERO_SLOT = bytes(SLOT_SIZE)
RESTORE = "restore the key store folder and station.kek from a backup taken together"


@dataclass(frozen=True)
class SlotContent:
    """A live slot, decoded."""

    doc_id: str
    key_id: str
    kek: str
    created: datetime
    wrapped: bytes


def encode_slot(content: SlotContent) -> bytes:
    """The 512 bytes of a live slot."""
    doc = content.doc_id.encode("ascii")
    if not 0 < len(doc) <= MAX_DOC_ID or not 0 < len(content.wrapped) <= MAX_WRAPPED:
        raise ValueError("document id or wrapped key does not fit a slot")
    head = _SLOT_HEAD.pack(
        _SLOT_MAGIC,
        _VERSION,
        len(doc),
        len(content.wrapped),
        bytes.fromhex(content.key_id),
        bytes.fromhex(content.kek),
        int(content.created.timestamp()),
    )
    body = bytearray(_DIGEST_AT)
    body[: len(head)] = head
    body[_DOC_AT : _DOC_AT + len(doc)] = doc
    body[_WRAPPED_AT : _WRAPPED_AT + len(content.wrapped)] = content.wrapped
    return bytes(body) + blake3.blake3(bytes(body)).digest()


def decode_slot(data: bytes, where: str) -> SlotContent | None:
    """A slot's content; ``None`` for a free (all-zero) slot; ``IntegrityError`` if damaged."""
    if data == _ZERO_SLOT:
        return None
    body, digest = data[:_DIGEST_AT], data[_DIGEST_AT:]
    if len(data) != SLOT_SIZE or blake3.blake3(body).digest() != digest:
        raise IntegrityError(
            "the key slot is damaged (a torn or altered write)", target=where, remedy=RESTORE
        )
    magic, version, doc_len, key_len, key_id, kek, created = _SLOT_HEAD.unpack_from(body)
    if magic != _SLOT_MAGIC or version != _VERSION:
        raise IntegrityError("not a key slot of this version", target=where, remedy=RESTORE)
    return SlotContent(
        doc_id=body[_DOC_AT : _DOC_AT + doc_len].decode("ascii"),
        key_id=key_id.hex(),
        kek=kek.hex(),
        created=datetime.fromtimestamp(created, UTC),
        wrapped=bytes(body[_WRAPPED_AT : _WRAPPED_AT + key_len]),
    )


@contextlib.contextmanager
def slot_errors(doing: str, path: str) -> Iterator[None]:
    """``OSError``s of the slot file (and the store's folder) as expunge's errors."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise TargetError(
                f"cannot {doing}: no space left", target=path, remedy="free space in the home"
            ) from exc
        if exc.errno == errno.EIO:
            raise MediaIOError(
                f"cannot {doing}: I/O error", target=path, remedy="check the home's disk"
            ) from exc
        raise TargetError(
            f"cannot {doing}: {exc.strerror or exc}",
            target=path,
            remedy="check the permissions of the home folder",
        ) from exc


def is_kek_tag(text: str) -> bool:
    """Whether ``text`` is a KEK tag as slots store it: 8 bytes in lowercase hex."""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return False
    return len(raw) == KEK_TAG_BYTES and text == text.lower()


def slot_offset(slot: int) -> int:
    """Where slot ``slot`` starts in the file."""
    return HEADER_SIZE + SLOT_SIZE * slot


def write_durably(fd: int, offset: int, data: bytes) -> None:
    """``pwrite`` all of ``data`` at ``offset``, then ``fdatasync``: on the medium on return."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written
    os.fdatasync(fd)


def read_back(fd: int, offset: int, length: int) -> tuple[bytes, CacheBypass]:
    """``length`` bytes at ``offset`` as the medium holds them, not as the page cache does.

    Read through a fresh ``O_DIRECT`` descriptor in aligned blocks; where the filesystem
    refuses ``O_DIRECT`` (tmpfs), the cached pages are dropped first (the data was synced).
    """
    start = offset - offset % DIRECT_IO_ALIGN
    # At least one block: an empty file (a copy a killed run created but never wrote) is
    # read back as empty, not refused by mmap for a zero length.
    span = max(round_up(offset + length, DIRECT_IO_ALIGN) - start, DIRECT_IO_ALIGN)
    direct_fd, direct = reopen_direct(fd, os.O_RDONLY | os.O_CLOEXEC)
    buffer = mmap.mmap(-1, span)  # page-aligned, as O_DIRECT requires
    try:
        if not direct:
            os.posix_fadvise(direct_fd, start, span, os.POSIX_FADV_DONTNEED)
        got = pread_full(direct_fd, memoryview(buffer), start, DIRECT_IO_ALIGN)
        data = bytes(buffer[offset - start : min(got, offset - start + length)])
    finally:
        buffer.close()
        os.close(direct_fd)
    return data, "O_DIRECT" if direct else "fadvise-dontneed"


def overwrite_checked(fd: int, offset: int, data: bytes) -> SlotCheck:
    """Write ``data`` in place durably, then read it back from the medium and compare."""
    write_durably(fd, offset, data)
    found, bypass = read_back(fd, offset, len(data))
    return SlotCheck(offset, len(data), found == data, bypass)


class SlotFile:
    """The open slot file: its header checked, its lock, its slots.

    ``lock(exclusive)`` is an ``flock`` on the file: writers (put, destroy, recovery) hold
    it exclusively, readers shared, so a slot is never read while it is being rewritten.
    """

    def __init__(self, path: str, *, create: bool) -> None:
        self.path = path
        flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            self.fd = os.open(path, flags | (os.O_CREAT if create else 0), 0o600)
        except OSError as exc:
            raise TargetError(
                f"cannot open the key slots: {exc.strerror}",
                target=path,
                remedy="check --home and the permissions of its keystore folder",
            ) from exc
        self._held = 0
        self._exclusive = False
        try:
            self.store_id = self._header()
        except BaseException:
            os.close(self.fd)
            raise

    def _header(self) -> str:
        with self.locked(exclusive=False):
            raw = os.pread(self.fd, HEADER_SIZE, 0)
        if not raw.strip(b"\0"):
            with self.locked(exclusive=True):
                raw = os.pread(self.fd, HEADER_SIZE, 0)
                # Still empty under the writer lock (new, or a creation cut short before
                # any slot could be used): this process writes the header.
                if not raw.strip(b"\0"):
                    raw = self._create()
        if len(raw) < HEADER_SIZE or raw[: _HEADER.size + 32] != _sign(raw[: _HEADER.size]):
            raise IntegrityError(
                "not an expunge key slot file (damaged or another kind of file)",
                target=self.path,
                remedy=RESTORE,
            )
        magic, version, slot_size, store_id = _HEADER.unpack_from(raw)
        if magic != _MAGIC or version != _VERSION or slot_size != SLOT_SIZE:
            raise IntegrityError(
                f"key slot file version {version} is not supported",
                target=self.path,
                remedy="upgrade expunge",
            )
        return str(store_id.hex())

    def _create(self) -> bytes:
        header = bytearray(HEADER_SIZE)
        signed = _sign(_HEADER.pack(_MAGIC, _VERSION, SLOT_SIZE, os.urandom(16)))
        header[: len(signed)] = signed
        write_durably(self.fd, 0, bytes(header) + bytes(SLOT_SIZE * GROWTH_MIN))
        os.fsync(self.fd)
        fsync_dir(Path(self.path).parent)
        return bytes(header)

    def close(self) -> None:
        """Close the file (releasing its lock)."""
        os.close(self.fd)

    def locked(self, *, exclusive: bool, timeout: float = 30.0) -> _Lock:
        """Hold the store's lock (re-entrant; an exclusive holder may nest shared uses)."""
        return _Lock(self, exclusive, timeout)

    @property
    def exclusive_held(self) -> bool:
        """Whether this process holds the writer lock now."""
        return self._held > 0 and self._exclusive

    def count(self) -> int:
        """How many slots the file holds (all of them allocated)."""
        return max(0, (os.fstat(self.fd).st_size - HEADER_SIZE) // SLOT_SIZE)

    def grow(self, at_least: int) -> None:
        """Allocate slots up to index ``at_least`` with real, synced blocks of zeros.

        New slots are appended after the existing ones, which never move.
        """
        have = self.count()
        if at_least < have:
            return
        more = min(max(GROWTH_MIN, have), GROWTH_MAX)
        more = max(more, at_least - have + 1)
        write_durably(self.fd, slot_offset(have), bytes(SLOT_SIZE * more))
        os.fsync(self.fd)  # the new size, not only the data

    def read(self, slot: int) -> SlotContent | None:
        """Slot ``slot`` as stored (through the page cache)."""
        data = os.pread(self.fd, SLOT_SIZE, slot_offset(slot))
        if len(data) != SLOT_SIZE:
            raise IntegrityError(
                f"key slot {slot} is beyond the end of the file", target=self.path, remedy=RESTORE
            )
        return decode_slot(data, f"{self.path} slot {slot}")

    def write(self, slot: int, content: SlotContent) -> SlotCheck:
        """Write a live slot in place, durably, and read it back from the medium."""
        return overwrite_checked(self.fd, slot_offset(slot), encode_slot(content))

    def zero(self, slot: int) -> SlotCheck:
        """Overwrite slot ``slot`` with zeros in place, durably, and read it back."""
        return overwrite_checked(self.fd, slot_offset(slot), _ZERO_SLOT)


class _Lock:
    def __init__(self, slots: SlotFile, exclusive: bool, timeout: float) -> None:
        self.slots, self.exclusive, self.timeout = slots, exclusive, timeout

    def __enter__(self) -> None:
        s = self.slots
        if s._held:
            if self.exclusive and not s._exclusive:
                raise RuntimeError("cannot upgrade a shared key-store lock")  # a bug, not input
            s._held += 1
            return
        _flock(s.fd, fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH, self.timeout, s.path)
        s._held, s._exclusive = 1, self.exclusive

    def __exit__(self, *exc: object) -> None:
        s = self.slots
        s._held -= 1
        if not s._held:
            fcntl.flock(s.fd, fcntl.LOCK_UN)
            s._exclusive = False


def _flock(fd: int, operation: int, timeout: float, path: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise
        if time.monotonic() >= deadline:
            raise BusyError(
                "another process holds the key store",
                target=path,
                remedy="try again when it has finished",
            )
        time.sleep(0.01)


def _sign(header: bytes) -> bytes:
    return header + blake3.blake3(header).digest()
