"""Certificate and entry-signature verification spread over forked worker processes, when
it pays."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Sequence
from functools import partial
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

from expunge.certificates import TrustStore
from expunge.ledger.entries import RawEntry
from expunge.workflows.audit.signatures import SIGNED_MARK, Verified, verify_entry_signatures
from expunge.workflows.audit.verdicts import Verdict, verify_records

# Below this many destroy events (or signed entries), worker processes cost more than they
# save.
_PARALLEL_FROM = 2000


_DESTROY_MARK = b'"type":"destroy"'


T = TypeVar("T")
S = TypeVar("S")


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


def _slices(items: Sequence[S], parts: int) -> list[Sequence[S]]:
    size = max(-(-len(items) // parts), 1)
    return [items[i : i + size] for i in range(0, len(items), size)]


def certificate_checks(
    raws: Sequence[RawEntry], trust: TrustStore, workers: int
) -> list[Forked[dict[int, Verdict]]]:
    """Children verifying the certificates of destroy records, when it pays."""
    records = [(r.seq, r.record) for r in raws if _DESTROY_MARK in r.record]
    if workers < 2 or len(records) < _PARALLEL_FROM:
        return []
    return [Forked(partial(verify_records, part, trust)) for part in _slices(records, workers)]


def signature_checks(
    raws: Sequence[RawEntry], trust: TrustStore, workers: int
) -> list[Forked[Verified]]:
    """Children verifying the station signatures of signed records, when it pays (a
    ledger appended one command at a time has one per entry)."""
    signed = [r for r in raws if SIGNED_MARK in r.record]
    if workers < 2 or len(signed) < _PARALLEL_FROM:
        return []
    return [
        Forked(partial(verify_entry_signatures, part, trust)) for part in _slices(signed, workers)
    ]


def collect(children: Sequence[Forked[dict[int, Verdict]]]) -> dict[int, Verdict]:
    """The verdicts of every child that finished."""
    found: dict[int, Verdict] = {}
    for child in children:
        found.update(child.result() or {})
    return found


def collect_signatures(children: Sequence[Forked[Verified]]) -> Verified:
    """The signatures every child that finished verified."""
    found: set[tuple[str, bytes, bytes]] = set()
    for child in children:
        found |= child.result() or frozenset()
    return frozenset(found)
