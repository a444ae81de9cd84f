"""Checking one read: read it, compare its samples, and isolate the samples that fail."""

from __future__ import annotations

import contextlib
import errno
import os

from expunge.verify.plan import SamplePlan
from expunge.verify.readback.expected import ExpectedHashes
from expunge.verify.readback.groups import ReadGroup, sample_read
from expunge.verify.readback.source import MediaSource
from expunge.verify.readback.tally import Tally


class Checker:
    """Reads groups of samples from a ``MediaSource`` and records them in a ``Tally``.

    A read error or a short read is recorded against its samples, never raised; a failed
    read of several samples is retried sample by sample, so that one bad sector does not
    condemn its neighbours.
    """

    def __init__(self, plan: SamplePlan, source: MediaSource, tally: Tally) -> None:
        self._plan = plan
        self._source = source
        self._tally = tally

    def check(
        self,
        group: ReadGroup,
        view: memoryview,
        expected: ExpectedHashes,
        slot: int,
        probe: bool = False,
    ) -> None:
        """Read ``group`` as one synchronous read and compare its samples.

        The ``probe`` (the first read of a run) switches to the page-cache fallback when
        the kernel refuses the ``O_DIRECT`` read itself.
        """
        source = self._source
        try:
            got = source.read(view[: group.length], group.aligned)
        except OSError as exc:
            if probe and source.direct and exc.errno == errno.EINVAL:
                source.fall_back()
                self.check(group, view, expected, slot)
            elif group.end - group.first > 1:
                self._one_by_one(group, view, expected, slot)
            else:
                self._tally.unreadable(group, exc, slot)
            return
        self._tally.evaluate(group, got, view, expected, slot)

    def complete(
        self,
        group: ReadGroup,
        result: int,
        view: memoryview,
        expected: ExpectedHashes,
        slot: int,
    ) -> None:
        """Compare ``group`` read asynchronously into ``view``: ``result`` bytes, or -errno."""
        if result < 0:
            if group.end - group.first > 1:
                self._one_by_one(group, view, expected, slot)
            else:
                self._tally.unreadable(group, OSError(-result, os.strerror(-result)), slot)
            return
        got = result
        unit = self._source.unit
        if 0 < got < group.length and got % unit == 0:  # a short read before the end: go on
            with contextlib.suppress(OSError):  # past ``got``: recorded as short reads
                got += self._source.read_rest(view[got : group.length], group.aligned + got)
        self._tally.evaluate(group, got, view, expected, slot)

    def _one_by_one(
        self, group: ReadGroup, view: memoryview, expected: ExpectedHashes, slot: int
    ) -> None:
        """After a failed read of several samples: read each alone, to find the bad ones."""
        for index in range(group.first, group.end):
            self.check(sample_read(self._plan, index, self._source.unit), view, expected, slot)
