"""The hash of every entry of a walked chain, by seq, in 33 bytes per entry.

A ledger of a million entries is audited in one pass; checkpoints and anchors ask for the
hash of an earlier entry at any point. A dict of a million ``bytes`` costs about 170 bytes
per entry; one flat array of fixed-size slots costs what the hashes themselves weigh.
"""

from __future__ import annotations

from expunge.ledger.entries import HASH_SIZE


class SeqHashes:
    """A map from seq (>= 1) to a ``HASH_SIZE``-byte hash, for seqs set in increasing order
    (gaps allowed: a missing seq has no hash)."""

    def __init__(self) -> None:
        self._hashes = bytearray()
        self._present = bytearray()

    def __setitem__(self, seq: int, digest: bytes) -> None:
        if len(digest) != HASH_SIZE or seq < 1:
            raise ValueError(f"seq {seq}: a {HASH_SIZE}-byte hash of a seq >= 1 is expected")
        index = seq - 1
        present = len(self._present)
        if index == present:  # the next seq: the walk's every step
            self._present.append(1)
            self._hashes += digest
            return
        if index > present:
            grow = index + 1 - present
            self._present.extend(bytes(grow))
            self._hashes.extend(bytes(grow * HASH_SIZE))
        self._present[index] = 1
        self._hashes[index * HASH_SIZE : (index + 1) * HASH_SIZE] = digest

    def get(self, seq: int) -> bytes | None:
        """The hash set for ``seq``; ``None`` when none was."""
        index = seq - 1
        if not 0 <= index < len(self._present) or not self._present[index]:
            return None
        return bytes(self._hashes[index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def __contains__(self, seq: object) -> bool:
        return isinstance(seq, int) and self.get(seq) is not None
