"""Certificate and entry-signature verification in forked worker processes, fed as the
audit reads the ledger.

The workers are forked before the walk begins (while this process is small) and receive
the records that need them through a pipe, in batches, as the walk reads them. Each sends
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

from expunge.certificates import TrustStore
from expunge.core.errors import ExpungeError
from expunge.ledger.chain import entry_hash
from expunge.ledger.entries import RawEntry
from expunge.workflows.audit.signatures import SIGNED_MARK, Verified, verify_entry_signatures
from expunge.workflows.audit.verdicts import RecordKey, Verdict, Verifier, verify_records

_DESTROY_MARK = b'"type":"destroy"'
# Records per message: few enough to keep the pipes moving, enough to amortize a send.
_BATCH = 64

# (is a destroy record, then the raw entry's fields): plain tuples pickle in C, where a
# slotted dataclass goes through Python per record.
_Job = tuple[bool, str, int, bytes, bytes, bytes]


def _worker_failed() -> ExpungeError:
    # An internal error (its exit code): the audit cannot judge the share it gave away.
    return ExpungeError(
        "a certificate verification worker stopped before the audit ended",
        remedy="run the audit again; if it recurs, report it",
    )


def _serve(connection: Connection, trust: TrustStore) -> None:
    # Ctrl-C is the parent's to handle.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    records: list[tuple[RecordKey, bytes]] = []
    signed: list[RawEntry] = []
    verifier = Verifier(trust.station_keys)
    try:
        while (batch := connection.recv()) is not None:
            for destroy, ledger_id, seq, record, prev_hash, digest in batch:
                if destroy:
                    content = entry_hash(ledger_id, seq, prev_hash, record)
                    records.append(((seq, content), record))
                if SIGNED_MARK in record:
                    signed.append(RawEntry(ledger_id, seq, record, prev_hash, digest))
            connection.send(
                (verify_records(records, verifier), verify_entry_signatures(signed, trust))
            )
            records.clear()
            signed.clear()
        connection.send(None)  # all answered: an end of file before it is a failure
    finally:
        connection.close()


@dataclass
class _Child:
    process: BaseProcess
    connection: Connection
    batch: list[_Job] = field(default_factory=list)
    signatures: set[tuple[str, bytes, bytes]] = field(default_factory=set)
    reader: threading.Thread | None = None
    finished: bool = False


class Workers:
    """``count`` forked verification workers (none when ``count`` < 2: the caller then
    verifies everything itself)."""

    def __init__(self, trust: TrustStore, count: int) -> None:
        self.children: list[_Child] = []
        self._turn = 0
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
        """Pass ``raws`` through, handing each destroy or signed record to a worker."""
        for raw in raws:
            if self.children:
                destroy = _DESTROY_MARK in raw.record
                if destroy or SIGNED_MARK in raw.record:
                    self._give(
                        (destroy, raw.ledger_id, raw.seq, raw.record, raw.prev_hash, raw.hash)
                    )
            yield raw

    def _give(self, job: _Job) -> None:
        child = self.children[self._turn]
        child.batch.append(job)
        if len(child.batch) >= _BATCH:
            self._send(child)
            self._turn = (self._turn + 1) % len(self.children)

    def _send(self, child: _Child) -> None:
        try:
            child.connection.send(child.batch)
        except OSError:
            raise _worker_failed() from None
        child.batch = []

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
        for child in self.children:
            if child.batch:
                self._send(child)
            child.batch = []
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
