"""The BLAKE3 hashes of what each sample must hold, recomputed from the final pass."""

from __future__ import annotations

import blake3

from expunge.shred.patterns import PassPattern, PatternStream
from expunge.verify.plan import SamplePlan
from expunge.verify.report import sample_digest


class ExpectedHashes:
    """BLAKE3 hashes of the expected content of samples, per worker thread.

    For a fixed pattern the expected content of a sample depends only on its phase and
    length, so hashes are cached (``full`` of a zero pass computes one hash). For a random
    pass the keystream of a whole read is generated at once and hashed sample by sample.
    """

    def __init__(self, pattern: PassPattern, cache: dict[tuple[int, int], bytes]) -> None:
        self._pattern = pattern
        self._stream: PatternStream = pattern.stream()
        self._fixed = pattern.kind == "fixed"
        self._period = len(pattern.pattern) if self._fixed else 0
        self._cache = cache
        self._buffer = bytearray()
        self._base = -1
        self._end = -1

    def prepare(self, start: int, end: int) -> None:
        """Generate the expected bytes of ``[start, end)`` (random passes only)."""
        if self._fixed:
            return
        if len(self._buffer) < end - start:
            self._buffer = bytearray(end - start)
        self._stream.fill(memoryview(self._buffer)[: end - start], start)
        self._base, self._end = start, end

    def hash(self, offset: int, length: int) -> bytes:
        """Hash of the expected bytes of ``[offset, offset + length)``."""
        if self._fixed:
            key = (offset % self._period, length)
            digest = self._cache.get(key)
            if digest is None:
                if len(self._buffer) < length:
                    self._buffer = bytearray(length)
                view = memoryview(self._buffer)[:length]
                self._stream.fill(view, offset)
                digest = blake3.blake3(view).digest()
                self._cache[key] = digest
            return digest
        if not (self._base <= offset and offset + length <= self._end):
            self.prepare(offset, offset + length)
        rel = offset - self._base
        return blake3.blake3(memoryview(self._buffer)[rel : rel + length]).digest()


def expected_digest(plan: SamplePlan, pattern: PassPattern) -> str:
    """The report digest a successful verification of ``plan`` against ``pattern`` yields.

    Computed from the plan and the pattern alone, without the media: an auditor holding a
    certificate's seed and final pass can check the recorded digest.
    """
    expected = ExpectedHashes(pattern, {})
    records: list[tuple[int, bytes]] = []
    for offset, size in plan.samples():
        records.append((offset, expected.hash(offset, size)))
    return sample_digest(records)
