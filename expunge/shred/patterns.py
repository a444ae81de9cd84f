"""Seekable pattern streams: the bytes a pass writes at any offset, recomputable later.

Verification (``expunge.verify``) recomputes expected content from these streams, so a
stream must give the same bytes for a range whether it is produced in one piece or many.
A fixed pattern keeps its phase at every offset; a random pass is an AES-256-CTR keystream
whose counter block is the 16-byte block number, so any offset can be reached directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal, Protocol

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_BYTES = 32
_AES_BLOCK = 16


class PatternStream(Protocol):
    """Bytes of one pass, addressable by offset."""

    def fill(self, buf: memoryview, offset: int) -> None:
        """Write the stream's bytes for ``[offset, offset + len(buf))`` into ``buf``."""


@dataclass(frozen=True, slots=True)
class PassPattern:
    """What one pass writes: a fixed byte pattern, or a keystream under ``key``.

    ``key`` is the AES-256 key of a random pass; it is only kept where it is needed to
    verify (the final pass) or to resume an interrupted pass.
    """

    kind: Literal["fixed", "random"]
    pattern: bytes = b""
    key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind == "fixed" and not self.pattern:
            raise ValueError("a fixed pass needs a non-empty pattern")
        if self.kind == "random" and self.key is not None and len(self.key) != KEY_BYTES:
            raise ValueError("a random pass key is 32 bytes")

    @classmethod
    def fixed(cls, pattern: bytes) -> PassPattern:
        """A pass repeating ``pattern``."""
        return cls("fixed", pattern=bytes(pattern))

    @classmethod
    def random(cls, key: bytes | None = None) -> PassPattern:
        """A random pass under ``key``, or under a fresh key from the OS CSPRNG."""
        return cls("random", key=key if key is not None else os.urandom(KEY_BYTES))

    @property
    def label(self) -> str:
        """How the pass is shown to people: ``random`` or hex bytes (``92 49 24``)."""
        return "random" if self.kind == "random" else self.pattern.hex(" ")

    def stream(self) -> PatternStream:
        """The seekable stream of this pass's bytes."""
        if self.kind == "fixed":
            return FixedStream(self.pattern)
        if self.key is None:
            raise ValueError("the key of this random pass was discarded")
        return AesCtrStream(self.key)

    def without_key(self) -> PassPattern:
        """The same pass with its key dropped (for intermediate passes in reports)."""
        return PassPattern(self.kind, self.pattern, None)


class FixedStream:
    """A byte pattern repeated with the correct phase at every offset."""

    def __init__(self, pattern: bytes) -> None:
        if not pattern:
            raise ValueError("empty pattern")
        self._pattern = bytes(pattern)
        self._tile = b""

    def fill(self, buf: memoryview, offset: int) -> None:
        """Copy the pattern, starting at phase ``offset % len(pattern)``, into ``buf``."""
        size = len(buf)
        period = len(self._pattern)
        if len(self._tile) < size + period:
            self._tile = self._pattern * ((size + 2 * period) // period + 1)
        phase = offset % period
        buf[:] = self._tile[phase : phase + size]


class AesCtrStream:
    """AES-256-CTR keystream: byte ``i`` is keystream byte ``i`` under counter block ``i//16``.

    Encrypting zeros gives the keystream; with AES-NI this runs at several GB/s, far above
    any disk, so random passes cost no more than fixed ones.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("AES-256 key must be 32 bytes")
        self._algorithm = algorithms.AES(key)
        self._zeros = bytearray()

    def fill(self, buf: memoryview, offset: int) -> None:
        """Write keystream bytes ``[offset, offset + len(buf))`` into ``buf``."""
        size = len(buf)
        if size == 0:
            return
        block, skip = divmod(offset, _AES_BLOCK)
        counter = (block % (1 << 128)).to_bytes(_AES_BLOCK, "big")
        encryptor = Cipher(self._algorithm, modes.CTR(counter)).encryptor()
        if skip:
            encryptor.update(bytes(skip))
        if len(self._zeros) < size:
            self._zeros = bytearray(size)
        encryptor.update_into(memoryview(self._zeros)[:size], buf)


def expected_bytes(pattern: PassPattern, offset: int, length: int) -> bytes:
    """The bytes ``pattern`` puts at ``[offset, offset + length)``; for tests and small reads."""
    out = bytearray(length)
    pattern.stream().fill(memoryview(out), offset)
    return bytes(out)
