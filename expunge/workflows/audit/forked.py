"""Certificate verification spread over forked worker processes, when it pays."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Sequence
from functools import partial
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

from expunge.certificates import TrustStore
from expunge.ledger.entries import RawEntry
from expunge.workflows.audit.verdicts import Verdict, verify_records

# Below this many destroy events, worker processes cost more than they save.
_PARALLEL_FROM = 2000


_DESTROY_MARK = b'"type":"destroy"'


T = TypeVar("T")


def _send(func: Callable[[], object], sender: Connection) -> None:
    # Ctrl-C is the parent's to handle; a failure here only means the parent does the work.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        sender.send(func())
    except Exception:  # the parent sees no result and does the work itself
        pass
    finally:
        sender.close()


class Forked(Generic[T]):
    """``func`` run in a forked child process, which sees this process's memory as it was
    (nothing is pickled on the way in); only its result comes back, through a pipe."""

    def __init__(self, func: Callable[[], T]) -> None:
        context = multiprocessing.get_context("fork")
        self.receiver, sender = context.Pipe(duplex=False)
        self.process = context.Process(target=_send, args=(func, sender), daemon=True)
        self.process.start()
        sender.close()

    def result(self) -> T | None:
        """The child's result; ``None`` when it failed (the caller then does the work)."""
        try:
            value: T = self.receiver.recv()
        except Exception:  # EOF, a broken pipe, a result cut short
            return None
        finally:
            self.receiver.close()
            self.process.join()
        return value


def certificate_checks(
    raws: Sequence[RawEntry], trust: TrustStore, workers: int
) -> list[Forked[dict[int, Verdict]]]:
    """Children verifying the certificates of destroy records, when it pays."""
    records = [(r.seq, r.record) for r in raws if _DESTROY_MARK in r.record]
    if workers < 2 or len(records) < _PARALLEL_FROM:
        return []
    size = -(-len(records) // workers)
    return [
        Forked(partial(verify_records, records[i : i + size], trust))
        for i in range(0, len(records), size)
    ]


def collect(children: Sequence[Forked[dict[int, Verdict]]]) -> dict[int, Verdict]:
    found: dict[int, Verdict] = {}
    for child in children:
        found.update(child.result() or {})
    return found
