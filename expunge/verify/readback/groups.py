"""Which reads cover a plan: adjacent samples grouped into aligned reads of up to 4 MiB."""

from __future__ import annotations

from typing import NamedTuple

from expunge.core.blockdev import round_up
from expunge.verify.plan import SamplePlan

MAX_READ_BYTES = 4 << 20
"""Adjacent samples are merged into one read up to this size (or one sample, if larger)."""


class ReadGroup(NamedTuple):
    """One read: samples ``[first, end)`` of the plan, as ``length`` bytes from ``aligned``."""

    first: int
    end: int
    aligned: int
    length: int


def group_reads(plan: SamplePlan, unit: int) -> list[ReadGroup]:
    """The reads of ``plan``, in plan order, with offsets and lengths multiples of ``unit``."""
    offsets, block, size = plan.offsets, plan.block_size, plan.size
    limit = max(MAX_READ_BYTES, block)
    groups = []
    index, count = 0, len(offsets)
    while index < count:
        start = offsets[index]
        end = min(start + block, size)
        nxt = index + 1
        while nxt < count and offsets[nxt] == end and min(end + block, size) - start <= limit:
            end = min(end + block, size)
            nxt += 1
        aligned = start - start % unit
        groups.append(ReadGroup(index, nxt, aligned, round_up(end, unit) - aligned))
        index = nxt
    return groups


def sample_read(plan: SamplePlan, index: int, unit: int) -> ReadGroup:
    """The read of sample ``index`` alone (to find the bad ones after a failed group)."""
    offset = plan.offsets[index]
    sample_end = offset + plan.sample_length(offset)
    start = offset - offset % unit
    return ReadGroup(index, index + 1, start, round_up(sample_end, unit) - start)
