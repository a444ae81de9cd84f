"""Sealed documents: a file encrypted under its own key, so destroying the key kills every copy.

A sealed file can be copied anywhere; while its 256-bit document key exists (wrapped under
the station's key-encryption key, in the ledger's key store, never beside the file) it can
be unsealed, and once the key is destroyed every copy is noise. Cryptographic erase in the
sense of NIST SP 800-88.

Format, version 1 (integers big-endian)::

    header body   magic         8  b"\\x89EXSEAL\\n"
                  version       2  1
                  algorithm     2  1 = AES-256-GCM
                  chunk size    4  1 MiB of plaintext per chunk
                  nonce prefix  8  random, per file
                  key id       16  HMAC-SHA256(document key, "expunge key id v1")[:16]
                  doc id len    2
                  doc id        n  UTF-8
    header tag   16  AES-GCM tag of nothing, AAD = header body, nonce = prefix || ffffffff
    chunk i          AES-GCM ciphertext || 16-byte tag, nonce = prefix || u32 i,
                     AAD = header body || u32 i || u8 final

Every chunk but the last holds exactly one chunk size of plaintext; the last one, flagged
final, holds less, possibly nothing (a 0-byte document is one empty final chunk; a 1 MiB
document is a full chunk and an empty final one). So a reader knows a chunk is final from
its length alone, and:

- truncation at a chunk boundary leaves no final chunk; truncation inside a chunk, or data
  appended after the final chunk, makes the last chunk fail to authenticate;
- reordered chunks fail: the index is in the nonce and in the AAD;
- a chunk spliced from another sealed file fails: another file has another nonce prefix
  and header (the header body is in every chunk's AAD), even under the same key;
- an edited header fails its own tag before any chunk is read.

The key id names the key in the key store without revealing it, and commits to it: GCM
alone does not, so checking the id first tells "wrong key" apart from "tampered".

Streaming in constant memory: 4 MiB of chunks are read at once and each chunk encrypted
(``update_into``) into one of two reused buffers, which a writer thread writes and hashes
(BLAKE3) while the next batch is read: the cipher, the hash and the copies run in parallel,
so the throughput is that of a plain copy. ``seal_to_path`` and ``unseal_to_path`` write to
a temporary file (``O_EXCL``, mode 0600) beside the destination and give it its name only
once complete and synced; a failed unseal overwrites the partial plaintext before removing
it, so no authenticated chunk survives in the free space of OUT's filesystem.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import os
import queue
import secrets
import stat
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import keywrap
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from expunge.core.errors import IntegrityError, MediaIOError, TargetError, UsageError
from expunge.shred.overwrite import WRITEBACK_BYTES, PassOptions, WriteBuffer, write_pass
from expunge.shred.patterns import PassPattern

MAGIC = b"\x89EXSEAL\n"
VERSION = 1
ALGORITHM_AES256_GCM = 1
CHUNK_SIZE = 1 << 20
KEY_BYTES = 32
TAG_BYTES = 16
NONCE_PREFIX_BYTES = 8
KEY_ID_BYTES = 16
MAX_DOC_ID_BYTES = 1024

_FIXED = struct.Struct(">8sHHI8s16sH")
_HEADER_COUNTER = 0xFFFFFFFF
"""The nonce counter of the header tag; chunk indexes stay below it."""
_KEY_ID_LABEL = b"expunge key id v1"
_BATCH_BYTES = 4 << 20
_TAMPERED_REMEDY = "this copy is damaged or was altered; unseal another copy"


def new_document_key() -> bytes:
    """A fresh 256-bit document key from the OS CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def new_kek() -> bytes:
    """A fresh 256-bit key-encryption key for a station's key store (stored by layer 2)."""
    return secrets.token_bytes(KEY_BYTES)


def key_id(key: bytes) -> str:
    """The public name of a key: 16 bytes of HMAC-SHA256 under it, in hex."""
    return _key_id(key).hex()


def _key_id(key: bytes) -> bytes:
    return hmac.digest(key, _KEY_ID_LABEL, "sha256")[:KEY_ID_BYTES]


def wrap_key(kek: bytes, document_key: bytes) -> bytes:
    """``document_key`` wrapped under ``kek`` with AES key wrap (RFC 3394): 40 bytes."""
    _check_key(kek, "key-encryption key")
    _check_key(document_key, "document key")
    return keywrap.aes_key_wrap(kek, document_key)


def unwrap_key(kek: bytes, wrapped: bytes) -> bytes:
    """The document key inside ``wrapped``; IntegrityError if ``kek`` did not wrap it."""
    _check_key(kek, "key-encryption key")
    try:
        return keywrap.aes_key_unwrap(kek, wrapped)
    except (keywrap.InvalidUnwrap, ValueError) as exc:
        raise IntegrityError(
            "the wrapped document key does not unwrap under this key-encryption key",
            target="key store",
            remedy="use the station whose key store sealed the document",
        ) from exc


def _check_key(key: bytes, what: str) -> None:
    if len(key) != KEY_BYTES:
        raise UsageError(f"a {what} is {KEY_BYTES} bytes, not {len(key)}")


@dataclass(frozen=True)
class SealHeader:
    """The authenticated header of a sealed file."""

    doc_id: str
    key_id: bytes
    nonce_prefix: bytes
    tag: bytes
    chunk_size: int = CHUNK_SIZE
    version: int = VERSION

    @property
    def body(self) -> bytes:
        """The header bytes every tag authenticates (everything but the header tag)."""
        doc = self.doc_id.encode()
        fixed = _FIXED.pack(
            MAGIC,
            self.version,
            ALGORITHM_AES256_GCM,
            self.chunk_size,
            self.nonce_prefix,
            self.key_id,
            len(doc),
        )
        return fixed + doc

    @property
    def size(self) -> int:
        """Bytes of the header in the file, tag included."""
        return len(self.body) + TAG_BYTES

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "doc_id": self.doc_id,
            "key_id": self.key_id.hex(),
            "version": self.version,
            "chunk_size": self.chunk_size,
            "nonce_prefix": self.nonce_prefix.hex(),
        }


@dataclass(frozen=True)
class SealInfo:
    """What sealing wrote."""

    doc_id: str
    key_id: str
    chunks: int
    plaintext_bytes: int
    sealed_bytes: int
    sealed_digest: str
    """BLAKE3 of the sealed file: recognises copies of the ciphertext."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "doc_id": self.doc_id,
            "key_id": self.key_id,
            "chunks": self.chunks,
            "plaintext_bytes": self.plaintext_bytes,
            "sealed_bytes": self.sealed_bytes,
            "sealed_digest": self.sealed_digest,
        }


@dataclass(frozen=True)
class UnsealInfo:
    """What unsealing authenticated and wrote."""

    doc_id: str
    key_id: str
    chunks: int
    plaintext_bytes: int
    sealed_bytes: int
    plaintext_digest: str
    """BLAKE3 of the plaintext: compare with the digest recorded at registration."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "doc_id": self.doc_id,
            "key_id": self.key_id,
            "chunks": self.chunks,
            "plaintext_bytes": self.plaintext_bytes,
            "sealed_bytes": self.sealed_bytes,
            "plaintext_digest": self.plaintext_digest,
        }


class _Chunks:
    """AES-256-GCM of one sealed file's chunks: nonces and AAD from its header."""

    def __init__(self, document_key: bytes, header: SealHeader) -> None:
        self._aes = algorithms.AES(document_key)
        self._prefix = header.nonce_prefix
        self._body = header.body

    def _nonce(self, counter: int) -> bytes:
        return self._prefix + counter.to_bytes(4, "big")

    def _aad(self, index: int, final: bool) -> bytes:
        return self._body + struct.pack(">IB", index, final)

    def header_tag(self) -> bytes:
        """The tag authenticating the header body."""
        encryptor = Cipher(self._aes, modes.GCM(self._nonce(_HEADER_COUNTER))).encryptor()
        encryptor.authenticate_additional_data(self._body)
        encryptor.finalize()
        return encryptor.tag

    def header_ok(self, tag: bytes) -> bool:
        """Whether ``tag`` authenticates the header body under this key."""
        return hmac.compare_digest(self.header_tag(), tag)

    def seal(self, index: int, final: bool, plain: memoryview, out: memoryview) -> int:
        """Encrypt ``plain`` as chunk ``index`` into ``out`` (tag appended); bytes written.

        ``out`` must have ``TAG_BYTES`` more room than ``plain`` (``update_into`` may use a
        block of scratch space beyond the ciphertext on older ``cryptography``).
        """
        if index >= _HEADER_COUNTER:
            raise TargetError("the document is too large to seal (over 4 PiB)", remedy="split it")
        encryptor = Cipher(self._aes, modes.GCM(self._nonce(index))).encryptor()
        encryptor.authenticate_additional_data(self._aad(index, final))
        size = encryptor.update_into(plain, out)
        encryptor.finalize()
        out[size : size + TAG_BYTES] = encryptor.tag
        return size + TAG_BYTES

    def unseal(self, index: int, final: bool, sealed: memoryview, out: memoryview) -> bool:
        """Decrypt chunk ``index`` into ``out``; False when it does not authenticate."""
        body = len(sealed) - TAG_BYTES
        decryptor = Cipher(self._aes, modes.GCM(self._nonce(index))).decryptor()
        decryptor.authenticate_additional_data(self._aad(index, final))
        decryptor.update_into(sealed[:body], out)
        try:
            decryptor.finalize_with_tag(bytes(sealed[body:]))
        except InvalidTag:
            return False
        return True


def _read_full(fd: int, view: memoryview) -> int:
    """Fill ``view`` from the current position of ``fd`` unless it ends first; bytes read."""
    got = 0
    while got < len(view):
        try:
            count = os.readv(fd, [view[got:]])
        except InterruptedError:
            continue
        if count == 0:
            break
        got += count
    return got


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
    _check_key(document_key, "document key")
    doc = doc_id.encode()
    if not doc or len(doc) > MAX_DOC_ID_BYTES or "\0" in doc_id:
        raise UsageError(
            f"a document id is 1 to {MAX_DOC_ID_BYTES} bytes of UTF-8 without NUL: {doc_id!r}"
        )
    unsigned = SealHeader(
        doc_id, _key_id(document_key), secrets.token_bytes(NONCE_PREFIX_BYTES), b""
    )
    chunks = _Chunks(document_key, unsigned)
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
            got = _read_full(src_fd, plain_view)
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


def read_header(fd: int, *, name: str = "sealed file") -> SealHeader:
    """Read and check the header at the current position of ``fd`` (no key needed).

    Gives the document id and key id, to find the key; TargetError when the file is not a
    sealed file (or of a newer format), IntegrityError when its header is malformed.
    """
    fixed = _read_exact(fd, _FIXED.size)
    if len(fixed) < len(MAGIC) or fixed[: len(MAGIC)] != MAGIC:
        raise TargetError(
            "is not a sealed file (no expunge seal header)",
            target=name,
            remedy="unseal a file made by 'expunge seal'",
        )
    if len(fixed) < _FIXED.size:
        raise _tampered_header(name, "it ends inside the header")
    _magic, version, algorithm, chunk_size, prefix, kid, doc_len = _FIXED.unpack(fixed)
    if version != VERSION:
        raise TargetError(
            f"was sealed with format version {version}; this expunge reads version {VERSION}",
            target=name,
            remedy="unseal it with the expunge version that sealed it",
        )
    if algorithm != ALGORITHM_AES256_GCM:
        raise _tampered_header(name, f"unknown algorithm {algorithm}")
    if chunk_size != CHUNK_SIZE:
        raise _tampered_header(name, f"chunk size {chunk_size}, version 1 uses {CHUNK_SIZE}")
    if not 0 < doc_len <= MAX_DOC_ID_BYTES:
        raise _tampered_header(name, f"document id length {doc_len}")
    rest = _read_exact(fd, doc_len + TAG_BYTES)
    if len(rest) < doc_len + TAG_BYTES:
        raise _tampered_header(name, "it ends inside the header")
    try:
        doc_id = rest[:doc_len].decode()
    except UnicodeDecodeError as exc:
        raise _tampered_header(name, "the document id is not UTF-8") from exc
    return SealHeader(doc_id, kid, prefix, rest[doc_len:], chunk_size, version)


def read_sealed_header(path: str | os.PathLike[str]) -> SealHeader:
    """The header of the sealed file at ``path`` (see ``read_header``)."""
    name = os.fspath(path)
    fd = _open_regular(name)
    try:
        return read_header(fd, name=name)
    finally:
        os.close(fd)


def _read_exact(fd: int, size: int) -> bytes:
    buffer = bytearray(size)
    got = _read_full(fd, memoryview(buffer))
    return bytes(buffer[:got])


def _tampered_header(name: str, why: str) -> IntegrityError:
    return IntegrityError(
        f"tampered or truncated header ({why})", target=name, remedy=_TAMPERED_REMEDY
    )


def _tampered_chunk(name: str, index: int, why: str) -> IntegrityError:
    return IntegrityError(
        f"tampered or truncated at chunk {index} ({why})", target=name, remedy=_TAMPERED_REMEDY
    )


def unseal_stream(
    src_fd: int, dst_fd: int, document_key: bytes, *, name: str = "sealed file"
) -> UnsealInfo:
    """Authenticate and decrypt the sealed stream ``src_fd`` into ``dst_fd``.

    Plaintext is written only after its chunk authenticates, but chunks before a damaged one
    have been written when the error is raised: use ``unseal_to_path`` to get all or
    nothing. Raises IntegrityError naming the first chunk that fails.
    """
    _check_key(document_key, "document key")
    header = read_header(src_fd, name=name)
    given = _key_id(document_key)
    if not hmac.compare_digest(given, header.key_id):
        raise IntegrityError(
            f"the key given does not open it (it needs key {header.key_id.hex()}, the key "
            f"given is {given.hex()}): wrong key, or the header was altered",
            target=name,
            remedy="unseal it with its document's own key",
        )
    chunks = _Chunks(document_key, header)
    if not chunks.header_ok(header.tag):
        raise _tampered_header(name, "it does not authenticate under the document key")
    unit = header.chunk_size + TAG_BYTES
    per_batch = _per_batch(header.chunk_size)
    batch = per_batch * unit
    sealed = bytearray(batch)
    index = 0
    read = header.size
    out_size = per_batch * header.chunk_size + TAG_BYTES
    with _Writer(dst_fd, out_size) as writer, memoryview(sealed) as sealed_view:
        while True:
            got = _read_full(src_fd, sealed_view)
            at_end = got < batch
            plain = writer.take()
            out = 0
            with memoryview(plain) as plain_view:
                for start in range(0, got + (1 if at_end else 0), unit):
                    piece = sealed_view[start : min(start + unit, got)]
                    final = len(piece) < unit
                    if final and not piece:
                        raise _tampered_chunk(name, index, "the final chunk is missing")
                    if final and len(piece) < TAG_BYTES:
                        raise _tampered_chunk(name, index, "the file ends inside it")
                    if not chunks.unseal(index, final, piece, plain_view[out:]):
                        raise _tampered_chunk(name, index, "it does not authenticate")
                    out += len(piece) - TAG_BYTES
                    index += 1
            writer.put(plain, out)
            read += got
            if at_end:
                break
        digest = writer.finish()
    return UnsealInfo(header.doc_id, header.key_id.hex(), index, writer.written, read, digest)


def _open_regular(name: str) -> int:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise _open_error(name, exc) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise TargetError("is not a regular file", target=name, remedy="name a file")
    os.set_blocking(fd, True)
    return fd


def _open_error(name: str, exc: OSError) -> TargetError:
    if exc.errno == errno.ENOENT:
        return TargetError("no such file", target=name, remedy="check the path")
    if exc.errno == errno.ELOOP:
        return TargetError(
            "is a symbolic link", target=name, remedy="name the file itself, not a link to it"
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return TargetError("permission denied", target=name, remedy="run as a user who may")
    return TargetError(f"cannot open: {exc.strerror or exc}", target=name)


class _Staged:
    """A temporary file beside the destination, published under its name only when complete."""

    def __init__(self, final: Path, overwrite: bool) -> None:
        self.final = final
        self.overwrite = overwrite
        self.name = f".{final.name}.{secrets.token_hex(6)}.partial"
        folder = str(final.parent)
        try:
            self.dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise _open_error(folder, exc) from exc
        if not overwrite and _exists(self.dir_fd, final.name):
            os.close(self.dir_fd)
            raise TargetError(
                "already exists", target=str(final), remedy="choose another name or remove it"
            )
        try:
            self.fd = os.open(
                self.name,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600,
                dir_fd=self.dir_fd,
            )
        except OSError as exc:
            os.close(self.dir_fd)
            raise _open_error(str(final.parent / self.name), exc) from exc

    def publish(self) -> None:
        """Make the content durable, then give it the final name (never half-written)."""
        os.fsync(self.fd)
        if self.overwrite:
            os.replace(self.name, self.final.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
        else:
            self._link_no_replace()
        os.fsync(self.dir_fd)

    def _link_no_replace(self) -> None:
        try:
            os.link(
                self.name,
                self.final.name,
                src_dir_fd=self.dir_fd,
                dst_dir_fd=self.dir_fd,
                follow_symlinks=False,
            )
        except FileExistsError as exc:
            raise TargetError(
                "already exists", target=str(self.final), remedy="choose another name or remove it"
            ) from exc
        except OSError as exc:
            # Filesystems without hard links (vfat, some FUSE): a rename, after a check.
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
                raise
            if _exists(self.dir_fd, self.final.name):
                raise TargetError(
                    "already exists",
                    target=str(self.final),
                    remedy="choose another name or remove it",
                ) from exc
            os.rename(self.name, self.final.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
            return
        os.unlink(self.name, dir_fd=self.dir_fd)

    def discard(self, *, shred: bool) -> None:
        """Remove the temporary file; with ``shred``, overwrite its content first.

        Best effort: the error that made us discard is the one the caller must see.
        """
        if shred:
            with contextlib.suppress(OSError):
                self._overwrite()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.name, dir_fd=self.dir_fd)

    def _overwrite(self) -> None:
        size = os.fstat(self.fd).st_size
        if size:
            buffer = WriteBuffer(min(4 << 20, (size + 4095) & ~4095))
            try:
                write_pass(self.fd, size, PassPattern.random(), 1, buffer, PassOptions())
            finally:
                buffer.close()
        os.ftruncate(self.fd, 0)

    def close(self) -> None:
        """Release both descriptors."""
        os.close(self.fd)
        os.close(self.dir_fd)


def _exists(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _io_error(name: str, exc: OSError) -> MediaIOError:
    return MediaIOError(
        f"I/O error: {exc.strerror or exc}", target=name, remedy="free space or fix the medium"
    )


def seal_to_path(
    plain_path: str | os.PathLike[str],
    sealed_path: str | os.PathLike[str],
    document_key: bytes,
    doc_id: str,
) -> SealInfo:
    """Seal the file ``plain_path`` into a new file ``sealed_path``, durably and atomically.

    ``sealed_path`` must not exist; it appears only once complete and synced, so the
    plaintext may be shredded as soon as this returns.
    """
    source = os.fspath(plain_path)
    src = _open_regular(source)
    try:
        staged = _Staged(Path(sealed_path), overwrite=False)
        try:
            info = seal_stream(src, staged.fd, document_key, doc_id)
            staged.publish()
        except OSError as exc:
            staged.discard(shred=False)
            raise _io_error(str(sealed_path), exc) from exc
        except BaseException:
            staged.discard(shred=False)
            raise
        finally:
            staged.close()
    finally:
        os.close(src)
    return info


def unseal_to_path(
    sealed_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    document_key: bytes,
    *,
    overwrite: bool = False,
) -> UnsealInfo:
    """Unseal ``sealed_path`` into ``out_path``: all of it, authenticated, or nothing.

    The plaintext goes to a temporary file (``O_EXCL``, mode 0600) in OUT's folder that is
    synced and renamed to OUT only after the final chunk authenticates. On any failure the
    temporary file is overwritten with a random pass and removed, so neither OUT nor stray
    plaintext is left behind. OUT must not exist unless ``overwrite``.
    """
    name = os.fspath(sealed_path)
    src = _open_regular(name)
    try:
        staged = _Staged(Path(out_path), overwrite=overwrite)
        try:
            info = unseal_stream(src, staged.fd, document_key, name=name)
            staged.publish()
        except OSError as exc:
            staged.discard(shred=True)
            raise _io_error(str(out_path), exc) from exc
        except BaseException:
            staged.discard(shred=True)
            raise
        finally:
            staged.close()
    finally:
        os.close(src)
    return info
