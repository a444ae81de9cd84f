"""AES-256-GCM of a sealed file's chunks, with nonces and AAD bound to its header."""

from __future__ import annotations

import hmac
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from expunge.core.errors import TargetError
from expunge.shred.sealing.header import TAG_BYTES, SealHeader

HEADER_COUNTER = 0xFFFFFFFF
"""The nonce counter of the header tag; chunk indexes stay below it."""


class ChunkCipher:
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
        encryptor = Cipher(self._aes, modes.GCM(self._nonce(HEADER_COUNTER))).encryptor()
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
        if index >= HEADER_COUNTER:
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
