"""What each sample of a plan was found to hold, and the report that sums it up."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import blake3

from expunge.core.clock import utc_now
from expunge.shred.patterns import PassPattern
from expunge.verify.plan import SamplePlan
from expunge.verify.readback.expected import ExpectedHashes
from expunge.verify.readback.groups import ReadGroup
from expunge.verify.readback.source import errno_note
from expunge.verify.report import UNREADABLE_HASH, VerificationReport, sample_digest

# Sample states while a run is in progress.
_PENDING, _MATCH, _MISMATCH, _UNREADABLE = 0, 1, 2, 3


class Tally:
    """The findings of one run, sample by sample, filled in by the engine threads.

    ``expected`` holds expected hashes computed ahead (by the AIO engine's helper thread)
    or on the way; ``done_bytes`` counts the bytes of samples done, one counter per
    thread slot so that no two threads add to the same one.
    """

    def __init__(self, plan: SamplePlan, slots: int) -> None:
        self.plan = plan
        count = plan.sample_count
        self.hashes: list[bytes | None] = [None] * count
        self.expected: list[bytes | None] = [None] * count
        self.state = bytearray(count)
        self.notes: dict[int, str] = {}
        self.done_bytes = [0] * slots

    def done(self) -> int:
        """Bytes of the samples done so far."""
        return sum(self.done_bytes)

    def evaluate(
        self, group: ReadGroup, got: int, view: memoryview, expected: ExpectedHashes, slot: int
    ) -> None:
        """Compare the samples of ``group``, read as ``got`` bytes into ``view``."""
        first, end, aligned, _ = group
        plan = self.plan
        offsets, block, size = plan.offsets, plan.block_size, plan.size
        known = self.expected
        prepared = False
        done = 0
        for index in range(first, end):
            offset = offsets[index]
            length = min(block, size - offset)
            rel = offset - aligned
            done += length
            if got < rel + length:
                self.state[index] = _UNREADABLE
                self.notes[index] = (
                    f"short read: got {max(0, got - rel)} of {length} bytes "
                    f"(the target ends at byte {aligned + got})"
                )
                continue
            digest = blake3.blake3(view[rel : rel + length]).digest()
            self.hashes[index] = digest
            want = known[index]
            if want is None:
                if not prepared:
                    last = offsets[end - 1]
                    expected.prepare(offset, min(last + block, size))
                    prepared = True
                want = known[index] = expected.hash(offset, length)
            self.state[index] = _MATCH if digest == want else _MISMATCH
        self.done_bytes[slot] += done

    def unreadable(self, group: ReadGroup, exc: OSError, slot: int) -> None:
        """Record the samples of ``group`` as unreadable because of ``exc``."""
        plan = self.plan
        for index in range(group.first, group.end):
            self.state[index] = _UNREADABLE
            self.notes[index] = errno_note(exc)
            self.done_bytes[slot] += plan.sample_length(plan.offsets[index])

    def report(
        self,
        pattern: PassPattern,
        observed_size: int,
        cache_bypass: str,
        started: datetime,
        clock: float,
    ) -> VerificationReport:
        """The report of the run: samples still pending mean it was interrupted."""
        plan = self.plan
        mismatches: list[int] = []
        errors: list[tuple[int, str]] = []
        records: list[tuple[int, bytes]] = []
        checked = checked_bytes = 0
        pending = False
        for index, (offset, size) in enumerate(plan.samples()):
            state = self.state[index]
            if state == _PENDING:
                pending = True
                continue
            if state == _UNREADABLE:
                mismatches.append(offset)
                errors.append((offset, self.notes[index]))
                records.append((offset, UNREADABLE_HASH))
                continue
            checked += 1
            checked_bytes += size
            if state == _MISMATCH:
                mismatches.append(offset)
            digest = self.hashes[index]
            assert digest is not None
            records.append((offset, digest))
        return VerificationReport(
            **_planned(plan, pattern),
            observed_size=observed_size,
            blocks_planned=plan.sample_count,
            blocks_checked=checked,
            bytes_checked=checked_bytes,
            mismatches=tuple(mismatches),
            read_errors=tuple(errors),
            digest=sample_digest(records),
            cache_bypass=cache_bypass,
            started=started,
            ended=utc_now(),
            duration_s=time.monotonic() - clock,
            interrupted=pending,
        )


def _planned(plan: SamplePlan, pattern: PassPattern) -> dict[str, Any]:
    """The fields of a report that the plan and the pattern decide."""
    return {
        "mode": plan.mode,
        "seed": plan.seed_hex,
        "block_size": plan.block_size,
        "align": plan.align,
        "requested_coverage": plan.requested_coverage,
        "target_size": plan.size,
        "pattern": pattern.label,
    }


def skipped_report(plan: SamplePlan, pattern: PassPattern) -> VerificationReport:
    """The report of a plan of mode ``none``: nothing opened, nothing read."""
    moment = utc_now()
    return VerificationReport(
        **_planned(plan, pattern),
        observed_size=None,
        blocks_planned=0,
        blocks_checked=0,
        bytes_checked=0,
        mismatches=(),
        read_errors=(),
        digest=sample_digest(()),
        cache_bypass="none",
        started=moment,
        ended=moment,
        duration_s=0.0,
        interrupted=False,
    )
