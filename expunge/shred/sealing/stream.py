"""Sealing and unsealing streams in constant memory, the cipher and the hash beside the copy."""

from __future__ import annotations

import hmac
import os
import queue
import secrets
import stat
import threading
from dataclasses import dataclass, fields
from typing import Any

import blake3

from expunge.core.errors import IntegrityError, UsageError
from expunge.shred.sealing.cipher import ChunkCipher
from expunge.shred.sealing.header import (
    CHUNK_SIZE,
    MAX_DOC_ID_BYTES,
    NONCE_PREFIX_BYTES,
    TAG_BYTES,
    SealHeader,
    read_full,
    read_header,
    tampered_chunk,
    tampered_header,
)
from expunge.shred.sealing.keys import check_key, raw_key_id
from expunge.shred.writer import WRITEBACK_BYTES

_BATCH_BYTES = 4 << 20


@dataclass(frozen=True)
class _StreamInfo:
    """What sealing or unsealing one stream went through."""

    doc_id: str
    key_id: str
    chunks: int
    plaintext_bytes: int
    sealed_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class SealInfo(_StreamInfo):
    """What sealing wrote."""

    sealed_digest: str
    """BLAKE3 of the sealed file: recognises copies of the ciphertext."""


@dataclass(frozen=True)
class UnsealInfo(_StreamInfo):
    """What unsealing authenticated and wrote."""

    plaintext_digest: str
    """BLAKE3 of the plaintext: compare with the digest recorded at registration."""


def _write_all(fd: int, data: memoryview) -> None:
    done = 0
    while done < len(data):
        try:
            done += os.write(fd, data[done:])
        except InterruptedError:
            continue


class _Writer:
    """Writes and hashes filled buffers on a second thread while the caller fills the next.

    ``os.write``, BLAKE3 and AES-GCM all release the GIL, so on two cores the encryption
    and the hashing hide under the copies into and out of the page cache. Memory stays
    constant: ``depth`` buffers circulate between the two threads.
    """

    def __init__(self, fd: int, size: int, depth: int = 2) -> None:
        self._fd = fd
        # On a regular file, start writeback as the stream goes (as the overwrite engine
        # does), so that the caller's final fsync does not find the whole file still dirty.
        self._base = os.lseek(fd, 0, os.SEEK_CUR) if stat.S_ISREG(os.fstat(fd).st_mode) else None
        self._flushed = 0
        self._done = 0
        self._free: queue.Queue[bytearray] = queue.Queue()
        self._full: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
        for _ in range(depth):
            self._free.put(bytearray(size))
        self._digest = blake3.blake3()
        self._error: BaseException | None = None
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="seal-writer", daemon=True)
        self._thread.start()

    def take(self) -> bytearray:
        """A buffer to fill (waits for one); raises what the writer thread met."""
        buffer = self._free.get()
        if self._error is not None:
            raise self._error
        return buffer

    def put(self, buffer: bytearray, length: int) -> None:
        """Hand the first ``length`` bytes of ``buffer`` to the writer."""
        self.written += length
        self._full.put((buffer, length))

    def finish(self) -> str:
        """Wait until everything is written; the BLAKE3 hex digest of all of it."""
        self._stop()
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest()

    def _stop(self) -> None:
        self._full.put(None)
        self._thread.join()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None and self._thread.is_alive():
            self._stop()

    def _run(self) -> None:
        while (item := self._full.get()) is not None:
            buffer, length = item
            if self._error is None:
                try:
                    with memoryview(buffer) as view:
                        _write_all(self._fd, view[:length])
                        self._digest.update(view[:length])
                    self._done += length
                    if self._base is not None and self._done - self._flushed >= WRITEBACK_BYTES:
                        os.posix_fadvise(
                            self._fd,
                            self._base + self._flushed,
                            self._done - self._flushed,
                            os.POSIX_FADV_DONTNEED,
                        )
                        self._flushed = self._done
                except BaseException as exc:
                    self._error = exc
            self._free.put(buffer)


def _per_batch(chunk_size: int) -> int:
    return max(1, _BATCH_BYTES // chunk_size)


def seal_stream(src_fd: int, dst_fd: int, document_key: bytes, doc_id: str) -> SealInfo:
    """Encrypt everything ``src_fd`` yields into a sealed stream written to ``dst_fd``.

    Reads and writes at the descriptors' current positions (pipes are fine) and does not
    sync: the caller owns ``dst_fd`` (``seal_to_path`` syncs before publishing).
    """
    check_key(document_key, "document key")
    doc = doc_id.encode()
    if not doc or len(doc) > MAX_DOC_ID_BYTES or "\0" in doc_id:
        raise UsageError(
            f"a document id is 1 to {MAX_DOC_ID_BYTES} bytes of UTF-8 without NUL: {doc_id!r}"
        )
    unsigned = SealHeader(
        doc_id, raw_key_id(document_key), secrets.token_bytes(NONCE_PREFIX_BYTES), b""
    )
    chunks = ChunkCipher(document_key, unsigned)
    header = SealHeader(doc_id, unsigned.key_id, unsigned.nonce_prefix, chunks.header_tag())
    head = header.body + header.tag
    per_batch = _per_batch(CHUNK_SIZE)
    batch = per_batch * CHUNK_SIZE
    # Room for the header, or for a batch of chunks with their tags and one block of
    # update_into scratch.
    out_size = max(len(head), per_batch * (CHUNK_SIZE + TAG_BYTES) + TAG_BYTES)
    plain = bytearray(batch)
    index = plaintext = 0
    with _Writer(dst_fd, out_size) as writer, memoryview(plain) as plain_view:
        first = writer.take()
        first[: len(head)] = head
        writer.put(first, len(head))
        while True:
            got = read_full(src_fd, plain_view)
            at_end = got < batch
            sealed = writer.take()
            out = 0
            with memoryview(sealed) as sealed_view:
                for start in range(0, got + (1 if at_end else 0), CHUNK_SIZE):
                    piece = plain_view[start : min(start + CHUNK_SIZE, got)]
                    final = len(piece) < CHUNK_SIZE
                    out += chunks.seal(index, final, piece, sealed_view[out:])
                    index += 1
            writer.put(sealed, out)
            plaintext += got
            if at_end:
                break
        digest = writer.finish()
    return SealInfo(doc_id, header.key_id.hex(), index, plaintext, writer.written, digest)


def unseal_stream(
    src_fd: int, dst_fd: int, document_key: bytes, *, name: str = "sealed file"
) -> UnsealInfo:
    """Authenticate and decrypt the sealed stream ``src_fd`` into ``dst_fd``.

    Plaintext is written only after its chunk authenticates, but chunks before a damaged one
    have been written when the error is raised: use ``unseal_to_path`` to get all or
    nothing. Raises IntegrityError naming the first chunk that fails.
    """
    check_key(document_key, "document key")
    header = read_header(src_fd, name=name)
    given = raw_key_id(document_key)
    if not hmac.compare_digest(given, header.key_id):
        raise IntegrityError(
            f"the key given does not open it (it needs key {header.key_id.hex()}, the key "
            f"given is {given.hex()}): wrong key, or the header was altered",
            target=name,
            remedy="unseal it with its document's own key",
        )
    chunks = ChunkCipher(document_key, header)
    if not chunks.header_ok(header.tag):
        raise tampered_header(name, "it does not authenticate under the document key")
    unit = header.chunk_size + TAG_BYTES
    per_batch = _per_batch(header.chunk_size)
    batch = per_batch * unit
    sealed = bytearray(batch)
    index = 0
    read = header.size
    out_size = per_batch * header.chunk_size + TAG_BYTES
    with _Writer(dst_fd, out_size) as writer, memoryview(sealed) as sealed_view:
        while True:
            got = read_full(src_fd, sealed_view)
            at_end = got < batch
            plain = writer.take()
            out = 0
            with memoryview(plain) as plain_view:
                for start in range(0, got + (1 if at_end else 0), unit):
                    piece = sealed_view[start : min(start + unit, got)]
                    final = len(piece) < unit
                    if final and not piece:
                        raise tampered_chunk(name, index, "the final chunk is missing")
                    if final and len(piece) < TAG_BYTES:
                        raise tampered_chunk(name, index, "the file ends inside it")
                    if not chunks.unseal(index, final, piece, plain_view[out:]):
                        raise tampered_chunk(name, index, "it does not authenticate")
                    out += len(piece) - TAG_BYTES
                    index += 1
            writer.put(plain, out)
            read += got
            if at_end:
                break
        digest = writer.finish()
    return UnsealInfo(header.doc_id, header.key_id.hex(), index, writer.written, read, digest)
