"""Certificate and entry-signature verification in forked worker processes, fed as the
audit reads the ledger.

The workers are forked before the walk begins (while this process is small) and receive
the records that need them through a pipe, in batches, as the walk reads them: nothing of
the ledger is held whole on either side. Each returns, at the end, compact verdicts by seq
and the entry signatures it verified. A worker that fails leaves its share unverified:
an internal error then says so, rather than an audit judging without it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from expunge.certificates import TrustStore
from expunge.core.errors import ExpungeError
from expunge.ledger.entries import RawEntry
from expunge.workflows.audit.signatures import SIGNED_MARK, Verified, verify_entry_signatures
from expunge.workflows.audit.verdicts import Verdict, Verifier, verify_records

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
    records: list[tuple[int, bytes]] = []
    signed: list[RawEntry] = []
    verifier = Verifier(trust.station_keys)
    verdicts: dict[int, Verdict] = {}
    verified: set[tuple[str, bytes, bytes]] = set()
    try:
        while (batch := connection.recv()) is not None:
            for destroy, ledger_id, seq, record, prev_hash, digest in batch:
                if destroy:
                    records.append((seq, record))
                if SIGNED_MARK in record:
                    signed.append(RawEntry(ledger_id, seq, record, prev_hash, digest))
            verdicts.update(verify_records(records, verifier))
            verified |= verify_entry_signatures(signed, trust)
            records.clear()
            signed.clear()
        connection.send((verdicts, frozenset(verified)))
    finally:
        connection.close()


@dataclass
class _Child:
    process: BaseProcess
    connection: Connection
    batch: list[_Job] = field(default_factory=list)


class Workers:
    """``count`` forked verification workers (none when ``count`` < 2: the caller then
    verifies everything itself)."""

    def __init__(self, trust: TrustStore, count: int) -> None:
        self.children: list[_Child] = []
        self._turn = 0
        self._results: tuple[dict[int, Verdict], Verified] | None = None
        if count < 2:
            return
        context = multiprocessing.get_context("fork")
        for _ in range(count):
            parent_end, child_end = context.Pipe(duplex=True)
            process = context.Process(target=_serve, args=(child_end, trust), daemon=True)
            process.start()
            child_end.close()
            self.children.append(_Child(process, parent_end))

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

    def results(self) -> tuple[dict[int, Verdict], Verified]:
        """Every worker's verdicts (by seq) and verified entry signatures; the first call
        ends the feeding and waits for the workers."""
        if self._results is None:
            verdicts: dict[int, Verdict] = {}
            verified: set[tuple[str, bytes, bytes]] = set()
            for child in self.children:
                if child.batch:
                    self._send(child)
                self._send_end(child)
            for child in self.children:
                part = self._receive(child)
                verdicts.update(part[0])
                verified |= part[1]
            self._results = verdicts, frozenset(verified)
        return self._results

    def _send_end(self, child: _Child) -> None:
        child.batch = []
        with contextlib.suppress(OSError):  # reported by _receive
            child.connection.send(None)

    def _receive(self, child: _Child) -> tuple[dict[int, Verdict], Verified]:
        try:
            part: tuple[dict[int, Verdict], Verified] = child.connection.recv()
        except (EOFError, OSError):
            raise _worker_failed() from None
        finally:
            child.connection.close()
            child.process.join()
        return part

    def signatures(self) -> Verified:
        """The entry signatures the workers verified."""
        return self.results()[1]

    def close(self) -> None:
        """Stop workers still running (an audit that ended early)."""
        for child in self.children:
            if child.process.is_alive():
                child.process.kill()
                child.process.join()
            child.connection.close()
