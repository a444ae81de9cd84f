"""Sample plans: which blocks of a target verification reads back, chosen from a recorded seed.

A plan divides the target into a grid of *blocks* of ``block_size`` bytes (the last block is
shorter when the size is not a multiple) and picks some of them. Samples are whole grid
blocks, so they never overlap and every sample starts at a multiple of ``align``.

Modes:

``nist``
    NIST SP 800-88 Rev. 1 (section 4.7.1): the target is divided into at least 1,000 equal
    subsections (contiguous runs of grid blocks whose lengths differ by at most one block);
    each subsection gets at least two non-overlapping pseudorandom samples, and at least
    ``coverage`` percent of its blocks (default and minimum 10%); the first and the last
    block of the target are always read, in addition to the random ones.
``quick``
    The same stratification at ``coverage`` percent (default 1%).
``full``
    Every block.
``none``
    Nothing (verification skipped).

Sample size. Reading 10% of a GiB as 26,000 separate 4 KiB reads is slow (each O_DIRECT
request costs tens of microseconds whatever its size), so unless ``block_size`` is given,
the sampled modes choose the smallest multiple of ``align`` with which two samples per
subsection reach the coverage: ``coverage * size / (1000 * 2)`` rounded up, between one
``align`` unit and 4 MiB. For 1 GiB that is 56 KiB for ``nist`` and 8 KiB for ``quick``
(about 2,000 reads each). ``full`` reads 4 MiB blocks. A corrupted 4 KiB block is caught by
``full`` whatever the block size, since ``full`` reads every byte.

Small targets degrade gracefully: a target with fewer than 2,000 blocks gets one subsection
per two blocks (so a 1 MiB file at 4 KiB blocks has 128 subsections and is read whole), and a
target of one block (a 10-byte file) is that one block, read whole.

Randomness. The seed is 16 or more bytes from the OS CSPRNG (``os.urandom``) unless given.
Block choices are drawn from a BLAKE3 extendable output keyed by a key derived from the seed,
with the plan's parameters as input, through unbiased rejection sampling and Floyd's
algorithm, so ``make_plan(size, mode, block_size=..., coverage=..., seed=..., align=...)``
replays a plan exactly, on any machine. Python's ``random`` is never used.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import blake3

from expunge.core.blockdev import round_up
from expunge.core.errors import IntegrityError, UsageError


class VerifyMode(StrEnum):
    """How a plan chooses the blocks to read back (see the module docstring)."""

    NIST = "nist"
    QUICK = "quick"
    FULL = "full"
    NONE = "none"


MODES: tuple[VerifyMode, ...] = tuple(VerifyMode)

NIST_SUBSECTIONS = 1000
"""NIST SP 800-88 Rev. 1: at least 1,000 equal subsections."""
SAMPLES_PER_SUBSECTION = 2
"""NIST SP 800-88 Rev. 1: at least two non-overlapping pseudorandom samples in each."""
NIST_MIN_COVERAGE_PCT = 10.0
"""NIST SP 800-88 Rev. 1: the samples together cover at least 10% of the media."""
QUICK_DEFAULT_COVERAGE_PCT = 1.0
MAX_SAMPLE_BYTES = 4 << 20
"""Largest automatically chosen sample; bigger targets get more samples per subsection."""
FULL_BLOCK_BYTES = 4 << 20
"""Block size of ``full`` plans unless given: one large read per block."""
SEED_BYTES = 32
MIN_SEED_BYTES = 16
DEFAULT_ALIGN = 4096

_KDF_CONTEXT = "expunge 2026-05 verify sample plan v1"
_XOF_CHUNK = 8192


@dataclass(frozen=True)
class SamplePlan:
    """Which blocks of a target to read back, and the seed that chose them.

    ``offsets`` are sample start offsets in ascending order; sample ``o`` covers
    ``[o, min(o + block_size, size))``. ``requested_coverage`` is the ``coverage`` argument
    as given (percent, or ``None``), kept so the plan can be replayed; ``coverage`` is the
    fraction of bytes the plan actually reads. ``subsections`` is the number of strata the
    random samples were drawn from (0 for ``full`` and ``none``).
    """

    mode: VerifyMode
    seed: bytes
    size: int
    block_size: int
    offsets: tuple[int, ...]
    align: int = DEFAULT_ALIGN
    requested_coverage: float | None = None
    subsections: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"unknown verification mode {self.mode!r}")
        # Callers may name the mode by its string; the plan holds the enum member.
        object.__setattr__(self, "mode", VerifyMode(self.mode))
        if self.size < 0 or self.block_size <= 0 or self.align <= 0:
            raise UsageError("plan size, block size and alignment must be positive")
        previous = -1
        for offset in self.offsets:
            # An empty target has one empty sample, at 0.
            beyond = offset >= self.size and not offset == self.size == 0
            if offset <= previous or beyond or offset % self.block_size:
                raise UsageError(
                    f"plan offset {offset} is out of order, out of bounds or off the block grid"
                )
            previous = offset

    def __repr__(self) -> str:
        return (
            f"SamplePlan(mode={self.mode.value!r}, seed={self.seed_hex!r}, size={self.size}, "
            f"block_size={self.block_size}, samples={len(self.offsets)}, "
            f"subsections={self.subsections}, coverage={self.coverage:.4f})"
        )

    @property
    def seed_hex(self) -> str:
        """The seed as it is recorded in reports and certificates."""
        return self.seed.hex()

    @property
    def block_count(self) -> int:
        """How many grid blocks the target has (the last one may be short)."""
        return -(-self.size // self.block_size)

    @property
    def sample_count(self) -> int:
        """How many samples the plan reads."""
        return len(self.offsets)

    def sample_length(self, offset: int) -> int:
        """Length of the sample starting at ``offset`` (short only at the end of the target)."""
        return min(self.block_size, self.size - offset)

    def samples(self) -> Iterator[tuple[int, int]]:
        """``(offset, length)`` of every sample, in plan order."""
        block, size = self.block_size, self.size
        for offset in self.offsets:
            yield offset, min(block, size - offset)

    @property
    def bytes_planned(self) -> int:
        """How many bytes the plan reads."""
        if not self.offsets:
            return 0
        last = self.offsets[-1]
        return (len(self.offsets) - 1) * self.block_size + self.sample_length(last)

    @property
    def coverage(self) -> float:
        """Fraction of the target's bytes the plan reads (1.0 for an empty target)."""
        if self.mode is VerifyMode.NONE:
            return 0.0
        if self.size == 0:
            return 1.0
        return self.bytes_planned / self.size

    def subsection_spans(self) -> tuple[tuple[int, int], ...]:
        """The byte ranges ``[start, end)`` of the subsections the samples were drawn from."""
        blocks = self.block_count
        spans = []
        for lo, hi in _subsections(blocks, self.subsections):
            spans.append((lo * self.block_size, min(hi * self.block_size, self.size)))
        return tuple(spans)

    def to_dict(self) -> dict[str, Any]:
        """The plan's parameters (not its offsets: ``from_dict`` replays them from the seed)."""
        return {
            "mode": self.mode,
            "seed": self.seed_hex,
            "size": self.size,
            "block_size": self.block_size,
            "align": self.align,
            "requested_coverage": self.requested_coverage,
            "samples": len(self.offsets),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SamplePlan:
        """Replay a plan from ``to_dict`` output; unknown, missing or inconsistent keys fail."""
        expected = {"mode", "seed", "size", "block_size", "align", "requested_coverage", "samples"}
        if not isinstance(data, Mapping) or set(data) != expected:
            raise IntegrityError(f"sample plan: keys must be exactly {sorted(expected)}")
        try:
            seed = bytes.fromhex(data["seed"])
        except (TypeError, ValueError) as exc:
            raise IntegrityError("sample plan: seed is not hex") from exc
        for key in ("size", "block_size", "align", "samples"):
            if type(data[key]) is not int:
                raise IntegrityError(f"sample plan: {key} must be an integer")
        coverage = data["requested_coverage"]
        if coverage is not None and (type(coverage) not in (int, float)):
            raise IntegrityError("sample plan: requested_coverage must be a number or null")
        try:
            plan = make_plan(
                data["size"],
                data["mode"],
                block_size=data["block_size"],
                coverage=None if coverage is None else float(coverage),
                seed=seed,
                align=data["align"],
            )
        except UsageError as exc:
            raise IntegrityError(f"sample plan: {exc.message}") from exc
        if len(plan.offsets) != data["samples"]:
            raise IntegrityError("sample plan: replayed sample count differs from the recorded one")
        return plan


class _Xof:
    """Deterministic random integers from a BLAKE3 XOF keyed by the seed."""

    def __init__(self, seed: bytes, params: bytes) -> None:
        key = blake3.blake3(seed, derive_key_context=_KDF_CONTEXT).digest()
        self._hasher = blake3.blake3(params, key=key)
        self._position = 0
        self._buffer = b""
        self._index = 0

    def _take(self, count: int) -> bytes:
        if self._index + count > len(self._buffer):
            self._buffer = self._buffer[self._index :] + self._hasher.digest(
                length=_XOF_CHUNK, seek=self._position
            )
            self._position += _XOF_CHUNK
            self._index = 0
        chunk = self._buffer[self._index : self._index + count]
        self._index += count
        return chunk

    def below(self, bound: int) -> int:
        """A uniform integer in ``[0, bound)`` (rejection sampling: no modulo bias)."""
        if bound <= 1:
            return 0
        width = max(8, (bound.bit_length() + 7) // 8 + 8)
        span = 1 << (8 * width)
        limit = span - span % bound
        while True:
            value = int.from_bytes(self._take(width), "big")
            if value < limit:
                return value % bound

    def choose(self, population: int, count: int) -> list[int]:
        """``count`` distinct integers from ``range(population)`` (Floyd's algorithm), sorted."""
        if count >= population:
            return list(range(population))
        chosen: set[int] = set()
        for j in range(population - count, population):
            pick = self.below(j + 1)
            chosen.add(j if pick in chosen else pick)
        return sorted(chosen)


def _subsections(blocks: int, count: int) -> Iterator[tuple[int, int]]:
    """``count`` contiguous runs of blocks whose lengths differ by at most one."""
    for index in range(count):
        yield index * blocks // count, (index + 1) * blocks // count


def _check_coverage(mode: VerifyMode, coverage: float | None) -> float:
    """The coverage fraction a sampled mode must reach."""
    if coverage is not None and (
        isinstance(coverage, bool) or not isinstance(coverage, int | float)
    ):
        raise UsageError("coverage must be a number of percent")
    if coverage is not None and not (math.isfinite(coverage) and 0 < coverage <= 100):
        raise UsageError(f"coverage {coverage}% is not in (0, 100]")
    if mode is VerifyMode.NIST:
        if coverage is not None and coverage < NIST_MIN_COVERAGE_PCT:
            raise UsageError(
                f"nist verification reads at least {NIST_MIN_COVERAGE_PCT:g}%, "
                f"not {coverage:g}%; use --verify quick for a lower coverage"
            )
        return (coverage if coverage is not None else NIST_MIN_COVERAGE_PCT) / 100
    return (coverage if coverage is not None else QUICK_DEFAULT_COVERAGE_PCT) / 100


def _check_shape(size: int, align: int, block_size: int | None) -> None:
    """UsageError unless the size, alignment and block size can make a plan."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise UsageError(f"target size {size!r} must be a non-negative integer")
    if isinstance(align, bool) or not isinstance(align, int) or align <= 0:
        raise UsageError(f"alignment {align!r} must be a positive integer")
    if block_size is not None and (
        isinstance(block_size, bool)
        or not isinstance(block_size, int)
        or block_size <= 0
        or block_size % align
    ):
        raise UsageError(f"block size {block_size!r} must be a positive multiple of {align}")


def _plan_seed(seed: bytes | None) -> bytes:
    """The seed given (16+ bytes), or a fresh one from the OS CSPRNG."""
    if seed is None:
        return os.urandom(SEED_BYTES)
    if not isinstance(seed, bytes | bytearray) or len(seed) < MIN_SEED_BYTES:
        raise UsageError(f"a plan seed is at least {MIN_SEED_BYTES} bytes")
    return bytes(seed)


def _sample_bytes(fraction: float, size: int, align: int) -> int:
    """The smallest sample with which two per subsection reach ``fraction`` (module doc)."""
    per_sample = math.ceil(fraction * size / (NIST_SUBSECTIONS * SAMPLES_PER_SUBSECTION))
    return min(max(round_up(per_sample, align), align), round_up(MAX_SAMPLE_BYTES, align))


def _choose_blocks(xof: _Xof, size: int, block: int, strata: int, fraction: float) -> list[int]:
    """Block indexes of a sampled plan, sorted: the first, the last, and ``fraction`` of
    each of ``strata`` subsections (at least two), drawn from ``xof``."""
    blocks = -(-size // block)
    last = blocks - 1
    chosen: list[int] = []
    for lo, hi in _subsections(blocks, strata):
        first_pool = lo + 1 if lo == 0 else lo  # block 0 is taken anyway
        end_pool = hi - 1 if hi - 1 == last else hi  # so is the last block
        want = max(SAMPLES_PER_SUBSECTION, math.ceil(fraction * (hi - lo)))
        picks = [first_pool + i for i in xof.choose(max(0, end_pool - first_pool), want)]
        if lo == 0:
            chosen.append(0)
        chosen.extend(picks)
        if hi - 1 == last and last != 0:
            chosen.append(last)

    # A short last block can leave the byte coverage a fraction of a block below the target:
    # add random unchosen blocks until it is met.
    taken = set(chosen)
    tail = size - last * block

    def planned_bytes() -> int:
        return (len(taken) - 1) * block + tail

    while planned_bytes() < fraction * size and len(taken) < blocks:
        candidate = xof.below(blocks)
        while candidate in taken:
            candidate = (candidate + 1) % blocks
        taken.add(candidate)
    return sorted(taken)


def make_plan(
    size: int,
    mode: VerifyMode | str,
    *,
    block_size: int | None = None,
    coverage: float | None = None,
    seed: bytes | None = None,
    align: int = DEFAULT_ALIGN,
) -> SamplePlan:
    """Plan a verification of a ``size``-byte target; see the module docstring for the rules.

    ``coverage`` is in percent (``quick``: default 1; ``nist``: default and minimum 10;
    ignored by ``full`` and ``none``). ``block_size`` must be a multiple of ``align``;
    ``align`` is the target's logical block size. ``seed`` (16+ bytes) defaults to 32 bytes
    from ``os.urandom``. Bad arguments raise ``UsageError``.
    """
    if mode not in MODES:
        raise UsageError(f"unknown verification mode {mode!r}; choose one of {', '.join(MODES)}")
    the_mode = VerifyMode(mode)
    _check_shape(size, align, block_size)
    seed = _plan_seed(seed)

    if the_mode is VerifyMode.NONE:
        return SamplePlan(the_mode, seed, size, block_size or align, (), align, coverage, 0)
    if the_mode is VerifyMode.FULL:
        block = block_size or round_up(FULL_BLOCK_BYTES, align)
        offsets = tuple(range(0, size, block)) or (0,)
        return SamplePlan(the_mode, seed, size, block, offsets, align, coverage)

    fraction = _check_coverage(the_mode, coverage)
    block = block_size if block_size is not None else _sample_bytes(fraction, size, align)
    blocks = -(-size // block)
    if blocks == 0:
        # An empty target is checked whole by one empty sample: that it still reads as
        # nothing is all there is to verify.
        return SamplePlan(the_mode, seed, size, block, (0,), align, coverage, 0)
    strata = min(NIST_SUBSECTIONS, blocks // SAMPLES_PER_SUBSECTION)
    if strata == 0:  # one block: read it whole
        return SamplePlan(the_mode, seed, size, block, (0,), align, coverage, 0)

    xof = _Xof(seed, f"{the_mode}|{size}|{block}|{align}".encode())
    chosen = _choose_blocks(xof, size, block, strata, fraction)
    offsets = tuple(index * block for index in chosen)
    return SamplePlan(the_mode, seed, size, block, offsets, align, coverage, strata)
