"""Certificate and entry-signature verification in forked worker processes, fed as the
audit reads the ledger.

The workers are forked before the walk begins (while this process is small) and receive
what needs them through a pipe, in batches, as the walk reads it: the envelope of each
destroy event the walk parsed (so a worker parses no record, and verifies exactly the
envelope the event carries) and each signed record as stored. Each sends
back, per batch, compact verdicts by seq and the entry signatures it verified; a reader
thread per worker takes them off the pipe at once (so that neither side can block the
other on a full pipe) and the walk collects them as it goes (``arrived``): nothing of the
ledger, and no verdict once used, is held on either side. A worker that fails leaves its
share unverified: an internal error then says so, rather than an audit judging without it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import signal
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from expunge.certificates import TrustStore
from expunge.core.errors import ExpungeError
from expunge.ledger.entries import RawEntry
from expunge.workflows.audit.signatures import SIGNED_MARK, Verified, verify_entry_signatures
from expunge.workflows.audit.verdicts import RecordKey, Verdict, Verifier, verify_envelopes

# Jobs per message: few enough to keep the pipes moving, enough to amortize a send.
_BATCH = 64

# A destroy event's record key and envelope (as parsed), or a signed record's raw fields:
# plain tuples and dicts pickle in C, where a slotted dataclass goes through Python.
_Envelope = tuple[RecordKey, dict[str, Any]]
_Signed = tuple[str, int, bytes, bytes, bytes]


def _worker_failed() -> ExpungeError:
    # An internal error (its exit code): the audit cannot judge the share it gave away.
    return ExpungeError(
        "a certificate verification worker stopped before the audit ended",
        remedy="run the audit again; if it recurs, report it",
    )


def _serve(connection: Connection, trust: TrustStore) -> None:
    # Ctrl-C is the parent's to handle.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    verifier = Verifier(trust.station_keys)
    try:
        while (batch := connection.recv()) is not None:
            envelopes, signed = batch
            raws = [RawEntry(*fields) for fields in signed]
            connection.send(
                (verify_envelopes(envelopes, verifier), verify_entry_signatures(raws, trust))
            )
        connection.send(None)  # all answered: an end of file before it is a failure
    finally:
        connection.close()


@dataclass
class _Child:
    process: BaseProcess
    connection: Connection
    # Batches sent, and answered (counted by the reader thread): the difference is the
    # work queued in the worker.
    sent: int = 0
    answered: int = 0
    signatures: set[tuple[str, bytes, bytes]] = field(default_factory=set)
    reader: threading.Thread | None = None
    finished: bool = False


class Workers:
    """``count`` forked verification workers (none when ``count`` < 2: the caller then
    verifies everything itself)."""

    def __init__(self, trust: TrustStore, count: int) -> None:
        self.children: list[_Child] = []
        self._envelopes: list[_Envelope] = []
        self._signed: list[_Signed] = []
        # Batches of verdicts as the reader threads take them off the pipes.
        self._arrived: queue.SimpleQueue[dict[RecordKey, Verdict]] = queue.SimpleQueue()
        self._signatures: Verified | None = None
        if count < 2:
            return
        context = multiprocessing.get_context("fork")
        for _ in range(count):
            parent_end, child_end = context.Pipe(duplex=True)
            process = context.Process(target=_serve, args=(child_end, trust), daemon=True)
            process.start()
            child_end.close()
            self.children.append(_Child(process, parent_end))
        # Threads only once every worker is forked: a fork copies no thread, but would
        # copy a lock one of them held.
        for child in self.children:
            child.reader = threading.Thread(target=self._read, args=(child,), daemon=True)
            child.reader.start()

    def _read(self, child: _Child) -> None:
        """In a thread: take each answer off ``child``'s pipe as soon as it is sent."""
        try:
            while (answer := child.connection.recv()) is not None:
                verdicts, signatures = answer
                child.answered += 1
                child.signatures |= signatures
                self._arrived.put(verdicts)
            child.finished = True
        except (EOFError, OSError):
            pass  # the worker died or was stopped: finish() says so

    @property
    def active(self) -> bool:
        """True when the workers verify certificates and signatures."""
        return bool(self.children)

    def feed(self, raws: Iterable[RawEntry]) -> Iterator[RawEntry]:
        """Pass ``raws`` through, handing each signed record to a worker."""
        for raw in raws:
            if self.children and SIGNED_MARK in raw.record:
                self._signed.append((raw.ledger_id, raw.seq, raw.record, raw.prev_hash, raw.hash))
                self._send_when_full()
            yield raw

    def verify(self, key: RecordKey, envelope: dict[str, Any]) -> None:
        """Hand the envelope of the destroy event walked at ``key`` to a worker (its
        verdict comes back by ``key``)."""
        self._envelopes.append((key, envelope))
        self._send_when_full()

    def _send_when_full(self) -> None:
        if len(self._envelopes) + len(self._signed) >= _BATCH:
            self._send()

    def _send(self) -> None:
        # To the worker with the least work queued: a send to a busy worker blocks the
        # walk once its pipe is full (a batch is larger than the pipe holds), while taking
        # turns would leave the other worker idle behind it.
        child = min(self.children, key=lambda c: c.sent - c.answered)
        try:
            child.connection.send((self._envelopes, self._signed))
        except OSError:
            raise _worker_failed() from None
        child.sent += 1
        self._envelopes, self._signed = [], []

    def arrived(self) -> Iterator[tuple[RecordKey, Verdict]]:
        """The verdicts (by record key) that have come back since the last call, without waiting."""
        while True:
            try:
                verdicts = self._arrived.get_nowait()
            except queue.Empty:
                return
            yield from verdicts.items()

    def finish(self) -> Iterator[tuple[RecordKey, Verdict]]:
        """End the feeding, wait for the workers, and yield the verdicts still to come."""
        if self._envelopes or self._signed:
            self._send()
        for child in self.children:
            with contextlib.suppress(OSError):  # a dead worker is reported below
                child.connection.send(None)
        for child in self.children:
            assert child.reader is not None
            child.reader.join()
            child.connection.close()
            child.process.join()
        if not all(child.finished for child in self.children):
            raise _worker_failed()
        self._signatures = frozenset().union(*(child.signatures for child in self.children))
        yield from self.arrived()

    def signatures(self) -> Verified:
        """The entry signatures the workers verified (once ``finish`` has run)."""
        if self._signatures is None:
            raise RuntimeError("the workers' signatures are read after finish()")
        return self._signatures

    def close(self) -> None:
        """Stop workers still running (an audit that ended early)."""
        for child in self.children:
            if child.process.is_alive():
                child.process.kill()
                child.process.join()
            if child.reader is not None:
                child.reader.join()  # its pipe ended with the worker
            child.connection.close()
