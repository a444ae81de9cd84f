"""Read-back of an erase whose result cannot be recomputed: the same samples read before
and after, compared.

A drive's crypto erase leaves neither the old content nor (usually) zeros, and a block
erase leaves what the vendor chose, so there is no expected stream to compare with, as
there is for an overwrite. What can be checked is that the data is gone: every sampled
block is hashed just before the erase and again after it, and a block that still holds
exactly what it held is data the erase did not reach. A block that was blank before (one
byte value throughout, e.g. never written) proves nothing either way and is counted
apart. Where the result is known (an overwrite with zeros, a discard that reads back
zeros), each sample must also hold it.

Reads bypass the page cache as the overwrite read-back does: a fresh ``O_DIRECT``
descriptor, or ``POSIX_FADV_DONTNEED`` where ``O_DIRECT`` is refused, so that "after"
never reads what "before" left in memory.
"""

from __future__ import annotations

import mmap
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import blake3

from expunge.core.blockdev import pread_full, reopen_direct, round_up
from expunge.core.clock import rfc3339, utc_now
from expunge.core.progress import NULL_PROGRESS, ProgressSink
from expunge.shred.patterns import PassPattern, expected_bytes
from expunge.verify.plan import SamplePlan
from expunge.verify.report import UNREADABLE_HASH, sample_digest


@dataclass(frozen=True)
class Sample:
    """One sampled block as read: its BLAKE3 hash (None if unreadable), and whether it
    was one byte value throughout."""

    offset: int
    length: int
    digest: bytes | None
    uniform: bool


@dataclass(frozen=True)
class SampleSet:
    """Every sample of a plan, read at one moment."""

    plan: SamplePlan
    samples: tuple[Sample, ...]
    cache_bypass: str
    interrupted: bool

    @property
    def digest(self) -> str:
        """The report digest over ``(offset, hash)`` pairs, as ``verify`` computes it."""
        return sample_digest((s.offset, s.digest or UNREADABLE_HASH) for s in self.samples)


def read_samples(
    fd: int,
    plan: SamplePlan,
    *,
    progress: ProgressSink = NULL_PROGRESS,
    task: str = "sample",
    stop: threading.Event | None = None,
) -> SampleSet:
    """Read and hash every sample of ``plan`` from the device open as ``fd``."""
    rfd, direct = reopen_direct(fd, os.O_RDONLY | os.O_CLOEXEC)
    found: list[Sample] = []
    interrupted = False
    try:
        if not direct:
            os.posix_fadvise(rfd, 0, 0, os.POSIX_FADV_DONTNEED)
        buffer = mmap.mmap(-1, round_up(max(plan.block_size, 1), mmap.PAGESIZE))
        try:
            progress.start(task, plan.bytes_planned, "samples")
            for offset, length in plan.samples():
                if stop is not None and stop.is_set():
                    interrupted = True
                    break
                found.append(_read_one(rfd, buffer, offset, length))
                progress.advance(task, length)
        finally:
            progress.finish(task)
            buffer.close()
    finally:
        os.close(rfd)
    bypass = "O_DIRECT" if direct else "fadvise-dontneed"
    return SampleSet(plan, tuple(found), bypass, interrupted)


def _read_one(fd: int, buffer: mmap.mmap, offset: int, length: int) -> Sample:
    view = memoryview(buffer)
    try:
        # O_DIRECT wants whole aligned blocks: the plan's samples are aligned, and the
        # short last block of a target is read whole and cut.
        got = pread_full(fd, view[: round_up(length, mmap.PAGESIZE)], offset)
    except OSError:
        return Sample(offset, length, None, False)
    finally:
        view.release()
    if got < length:
        return Sample(offset, length, None, False)
    data = buffer[:length]
    return Sample(offset, length, blake3.blake3(data).digest(), data.count(data[:1]) == length)


@dataclass(frozen=True)
class ChangeReport:
    """Samples read before and after an erase, compared.

    ``changed``: samples whose content differs; ``unchanged``: samples that still hold
    what they held and were not blank (the erase did not reach them); ``blank``: samples
    blank before and unchanged (no evidence either way); ``unreadable``: samples that
    could not be read before or after; ``unexpected``: samples that do not hold the
    ``expected`` content (``zeros`` after an overwrite with zeros or a discard), when
    there is one.
    """

    mode: str
    seed: str
    block_size: int
    samples_planned: int
    samples_read: int
    bytes_read: int
    target_size: int
    changed: int
    unchanged: int
    blank: int
    unreadable: int
    unexpected: int
    unchanged_offsets: tuple[int, ...]
    expected: str | None
    digest_before: str
    digest_after: str
    cache_bypass: str
    started: datetime
    ended: datetime
    interrupted: bool

    @property
    def mismatches(self) -> int:
        """Samples that count against the erase: old data found, or not what was expected."""
        return self.unchanged + self.unexpected + self.unreadable

    @property
    def conclusive(self) -> bool:
        """Some sample proves the erase: it changed, or holds the expected content."""
        return self.changed > 0 or (self.expected is not None and self.samples_read > 0)

    @property
    def status(self) -> str:
        """``success``: every sample read, none kept its data, and the erase is shown;
        ``inconclusive``: nothing contradicts it but nothing shows it (a blank drive);
        ``failed`` otherwise."""
        if self.interrupted or self.mismatches or self.samples_read < self.samples_planned:
            return "failed"
        return "success" if self.conclusive else "inconclusive"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "mode": self.mode,
            "seed": self.seed,
            "block_size": self.block_size,
            "samples_planned": self.samples_planned,
            "samples_read": self.samples_read,
            "bytes_read": self.bytes_read,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "blank": self.blank,
            "unreadable": self.unreadable,
            "unexpected": self.unexpected,
            "unchanged_offsets": list(self.unchanged_offsets[:100]),
            "expected": self.expected,
            "digest_before": self.digest_before,
            "digest_after": self.digest_after,
            "cache_bypass": self.cache_bypass,
            "started": rfc3339(self.started),
            "ended": rfc3339(self.ended),
            "interrupted": self.interrupted,
            "status": self.status,
        }


def compare(
    before: SampleSet,
    after: SampleSet,
    *,
    expected: PassPattern | None = None,
    started: datetime | None = None,
) -> ChangeReport:
    """Compare two readings of the same plan; ``expected`` is the content every sample
    must hold afterwards, when it is known."""
    changed = unchanged = blank = unreadable = unexpected = 0
    kept: list[int] = []
    wanted: dict[tuple[int, int], bytes] = {}
    for old, new in zip(before.samples, after.samples, strict=False):
        if old.digest is None or new.digest is None:
            unreadable += 1
            continue
        if old.digest != new.digest:
            changed += 1
        elif old.uniform:
            blank += 1
        else:
            unchanged += 1
            kept.append(new.offset)
        if expected is not None and new.digest != _expected_hash(expected, new, wanted):
            unexpected += 1
    plan = after.plan
    return ChangeReport(
        mode=plan.mode.value,
        seed=plan.seed_hex,
        block_size=plan.block_size,
        samples_planned=len(plan.offsets),
        samples_read=len(after.samples),
        bytes_read=sum(s.length for s in after.samples),
        target_size=plan.size,
        changed=changed,
        unchanged=unchanged,
        blank=blank,
        unreadable=unreadable,
        unexpected=unexpected,
        unchanged_offsets=tuple(kept),
        expected=expected.label if expected is not None else None,
        digest_before=before.digest,
        digest_after=after.digest,
        cache_bypass=after.cache_bypass,
        started=started or utc_now(),
        ended=utc_now(),
        interrupted=before.interrupted or after.interrupted,
    )


def _expected_hash(
    pattern: PassPattern, sample: Sample, cache: dict[tuple[int, int], bytes]
) -> bytes:
    period = len(pattern.pattern) or 1
    key = (sample.offset % period, sample.length)
    if key not in cache:
        cache[key] = blake3.blake3(expected_bytes(pattern, sample.offset, sample.length)).digest()
    return cache[key]
