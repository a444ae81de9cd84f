"""Destroy events waiting for their certificates' verdicts, checked in seq order as the
verdicts arrive.

The walk reads a destroy event long before a worker has verified its certificate; holding
every event until the end would hold the ledger. So each waits here with what the checks
need of it (the event without its envelope, its document's holding) and is checked, and
dropped, once its verdict is in and every earlier destroy event has been checked: the
problems come out in the same order however the workers' answers interleave.
"""

from __future__ import annotations

from collections.abc import Iterable

from expunge.ledger.entries import Origin
from expunge.ledger.events import Destroy
from expunge.workflows.audit.checks import AuditRun, Holding
from expunge.workflows.audit.verdicts import RecordKey, Verdict

_MALFORMED: Verdict = (None, "not verified: the record is malformed")


class PendingDestroys:
    """The destroy events of one audit between their walk and their check."""

    def __init__(self, run: AuditRun) -> None:
        self.run = run
        # key -> the event and what its check needs, in the order walked (seq order)
        self.waiting: dict[RecordKey, tuple[Origin | None, Destroy, Holding | None]] = {}
        # key -> verdict, for events waiting
        self.verdicts: dict[RecordKey, Verdict] = {}
        self.count = 0

    def add(
        self,
        key: RecordKey,
        origin: Origin | None,
        event: Destroy,
        holding: Holding | None,
        verdict: Verdict | None = None,
    ) -> None:
        """A destroy event walked (``key``: its seq and content hash); ``verdict`` when
        it is known already."""
        self.count += 1
        self.waiting[key] = (origin, event.without_envelope(), holding)
        if verdict is not None:
            self.verdicts[key] = verdict
        self._check_ready()

    def arrive(self, verdicts: Iterable[tuple[RecordKey, Verdict]]) -> None:
        """Verdicts from the workers: the events they complete are checked."""
        self.verdicts.update(verdicts)
        self._check_ready()

    def _check_ready(self) -> None:
        waiting, verdicts = self.waiting, self.verdicts
        while waiting:
            key = next(iter(waiting))
            verdict = verdicts.pop(key, None)
            if verdict is None:
                return
            origin, event, holding = waiting.pop(key)
            self.run.destroy_event(key[0], origin, event, verdict, holding)

    def finish(self) -> None:
        """Check the events still waiting once every verdict is in: one whose verdict
        never came is not taken for verified."""
        verdicts = self.verdicts
        for key, (origin, event, holding) in self.waiting.items():
            self.run.destroy_event(key[0], origin, event, verdicts.pop(key, _MALFORMED), holding)
        self.waiting.clear()
        verdicts.clear()
