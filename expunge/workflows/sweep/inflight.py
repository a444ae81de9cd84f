"""Several documents of a sweep destroyed at once.

Destroying a small document is waiting on syncs (its overwrite, journal, run log,
certificate and ledger commit each reach the disk before the next step), not on the CPU:
a few at a time, in threads, keep the disk busy while each one keeps its own order of
steps. Each worker appends through its own ledger connection (an SQLite connection is
not shared between threads; the database serializes the commits, and the station chain
of certificates and the head record have their own locks). Items are reported in the
order the documents were taken, whatever order they finish in.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from types import TracebackType

from expunge.core.config import Home
from expunge.ledger.classification import ClassificationPolicy
from expunge.ledger.store import LedgerStore
from expunge.workflows import certify, records
from expunge.workflows.sweep.report import SweepItem

IN_FLIGHT = 4
"""Documents destroyed at once: past a few, the disk's sync queue is the limit."""

Job = Callable[[records.LedgerLink], SweepItem]


class InFlight:
    """A bounded pool of document destructions; ``report`` hears of each item in order.

    Each worker thread opens its own ledger connection, and closes it, in that thread.
    """

    def __init__(
        self,
        home: Home,
        station: certify.Station,
        policy: ClassificationPolicy,
        report: Callable[[SweepItem], None],
        workers: int = IN_FLIGHT,
    ) -> None:
        self._home = home
        self._station = station
        self._policy = policy
        self._report = report
        self._workers = workers
        self._queue: queue.SimpleQueue[tuple[Job, Future[SweepItem]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._pending: deque[Future[SweepItem]] = deque()
        self._finished = False

    def _work(self) -> None:
        store: LedgerStore | None = None
        try:
            while (task := self._queue.get()) is not None:
                job, future = task
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    if store is None:
                        store = records.require_ledger(self._home, self._station)
                    link = records.LedgerLink(store, self._policy, self._station.settings.operator)
                    future.set_result(job(link))
                except BaseException as exc:  # handed to the sweep, which re-raises it
                    future.set_exception(exc)
        finally:
            if store is not None:
                store.close()

    def submit(self, job: Job) -> None:
        """Run ``job`` with a worker's ledger link; report finished items as it goes (at
        most a few are kept waiting, so a long sweep logs while it runs)."""
        if len(self._threads) < self._workers:
            thread = threading.Thread(target=self._work, name="sweep", daemon=True)
            thread.start()
            self._threads.append(thread)
        future: Future[SweepItem] = Future()
        self._queue.put((job, future))
        self._pending.append(future)
        while len(self._pending) > 2 * self._workers or (self._pending and self._pending[0].done()):
            self._report(self._pending.popleft().result())

    def __enter__(self) -> InFlight:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.finish()
            return
        # Something went wrong in the sweep itself: what runs finishes, nothing is reported.
        self.finish(cancel=True, report=False)

    def finish(self, *, cancel: bool = False, report: bool = True) -> None:
        """Wait for the documents in flight (those not started yet are dropped when
        ``cancel``: a stop was asked for), and report them."""
        if self._finished:
            return
        self._finished = True
        if cancel:
            for future in self._pending:
                future.cancel()  # only those no worker has started
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        while report and self._pending:
            future = self._pending.popleft()
            if not future.cancelled():
                self._report(future.result())
