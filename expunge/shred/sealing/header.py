"""The sealed-file header: its layout, reading and checking it, and the errors of a bad copy."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Any

from expunge.core.errors import IntegrityError, TargetError

MAGIC = b"\x89EXSEAL\n"
VERSION = 1
ALGORITHM_AES256_GCM = 1
CHUNK_SIZE = 1 << 20
TAG_BYTES = 16
NONCE_PREFIX_BYTES = 8
MAX_DOC_ID_BYTES = 1024

_FIXED = struct.Struct(">8sHHI8s16sH")
_TAMPERED_REMEDY = "this copy is damaged or was altered; unseal another copy"


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


def read_full(fd: int, view: memoryview) -> int:
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


def _read_exact(fd: int, size: int) -> bytes:
    """Up to ``size`` bytes from the current position (fewer at the end of the file)."""
    buffer = bytearray(size)
    got = read_full(fd, memoryview(buffer))
    return bytes(buffer[:got])


def tampered_header(name: str, why: str) -> IntegrityError:
    """The error for a header that does not parse or authenticate."""
    return IntegrityError(
        f"tampered or truncated header ({why})", target=name, remedy=_TAMPERED_REMEDY
    )


def tampered_chunk(name: str, index: int, why: str) -> IntegrityError:
    """The error for chunk ``index``, missing, cut short or not authentic."""
    return IntegrityError(
        f"tampered or truncated at chunk {index} ({why})", target=name, remedy=_TAMPERED_REMEDY
    )


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
        raise tampered_header(name, "it ends inside the header")
    _magic, version, algorithm, chunk_size, prefix, kid, doc_len = _FIXED.unpack(fixed)
    if version != VERSION:
        raise TargetError(
            f"was sealed with format version {version}; this expunge reads version {VERSION}",
            target=name,
            remedy="unseal it with the expunge version that sealed it",
        )
    if algorithm != ALGORITHM_AES256_GCM:
        raise tampered_header(name, f"unknown algorithm {algorithm}")
    if chunk_size != CHUNK_SIZE:
        raise tampered_header(name, f"chunk size {chunk_size}, version 1 uses {CHUNK_SIZE}")
    if not 0 < doc_len <= MAX_DOC_ID_BYTES:
        raise tampered_header(name, f"document id length {doc_len}")
    rest = _read_exact(fd, doc_len + TAG_BYTES)
    if len(rest) < doc_len + TAG_BYTES:
        raise tampered_header(name, "it ends inside the header")
    try:
        doc_id = rest[:doc_len].decode()
    except UnicodeDecodeError as exc:
        raise tampered_header(name, "the document id is not UTF-8") from exc
    return SealHeader(doc_id, kid, prefix, rest[doc_len:], chunk_size, version)
