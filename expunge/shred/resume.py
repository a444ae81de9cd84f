"""Resuming interrupted overwrites: the passes of one target under its wipe journal.

A wipe is journaled before its first write and its progress after each sync; a later run
with ``resume`` continues from where the journal says the medium was durable, with the
same passes and keys. Used for files and drives alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from expunge.core.errors import RefusedError, UsageError
from expunge.core.progress import StopRequest
from expunge.shred.journal import (
    JournalEvent,
    JournalRecord,
    JournalTarget,
    WipeJournal,
    find_journal,
)
from expunge.shred.methods import Method, resolve
from expunge.shred.overwrite import PassOptions, run_passes
from expunge.shred.report import PassResult, merge_ranges

# A long pass syncs and journals its progress this often, so that a crash costs at most
# this much rewriting; smaller files are synced once, at the end of each pass.
CHECKPOINT_BYTES = 256 << 20


@dataclass(frozen=True, eq=False)  # holds a live journal: compared by identity
class JournaledRun:
    """The passes over one target as its wipe journal knows them: those completed by
    earlier runs, then this run's; and the journal, to complete once certified."""

    passes: tuple[PassResult, ...]
    journal: WipeJournal

    @property
    def events(self) -> tuple[JournalEvent, ...]:
        """The interruptions and resumes recorded so far."""
        return self.journal.record.events


def earlier_passes(record: JournalRecord) -> list[PassResult]:
    """Passes completed by earlier runs, rebuilt from the journal (only the final pass
    keeps its key: it is the verification seed)."""
    out: list[PassResult] = []
    started = record.started
    for done in record.done:
        pattern = record.passes[done.index - 1]
        if done.index != len(record.passes):
            pattern = pattern.without_key()
        size = record.target.size
        out.append(
            PassResult(done.index, pattern, size, size, started, done.ended, True, done.unwritten)
        )
        started = done.ended
    return out


def pending_journal(
    folder: Path, target: JournalTarget, method: Method, *, resume: bool, fd: int | None = None
) -> WipeJournal | None:
    """The journal to resume ``target`` (open as ``fd``, when given) from, if any; refused
    when resuming is not asked for, the method differs, or the journal is of another
    medium or object (``find_journal``)."""
    journal = find_journal(folder, target, fd=fd)
    if journal is not None and not resume:
        raise RefusedError(
            "an interrupted wipe of this target is pending",
            target=target.path,
            remedy=f"finish it with --resume, or remove {journal.path} to start over",
        )
    if journal is not None and journal.record.method != method.name:
        raise UsageError(
            f"the interrupted wipe used method {journal.record.method}, not {method.name}",
            target=target.path,
            remedy=f"resume with -m {journal.record.method} --resume",
        )
    return journal


def run_journaled(
    fd: int,
    journal: WipeJournal,
    options: PassOptions,
    *,
    stop: StopRequest | None = None,
    after_pass: Callable[[PassResult], None] | None = None,
) -> JournaledRun:
    """Overwrite the target of ``journal`` (open as ``fd``) from where the journal says
    it is durable; progress is journaled after each sync (every ``CHECKPOINT_BYTES`` and
    at the end of each pass), and an interruption (``stop`` or a gone medium) recorded."""
    record = journal.record
    first_pass, first_offset = record.resume_point
    options = replace(options, on_durable=journal.update, checkpoint_bytes=CHECKPOINT_BYTES)
    results = list(
        run_passes(
            fd,
            record.target.size,
            record.passes,
            options,
            after_pass=after_pass,
            first_pass=first_pass,
            first_offset=first_offset,
        )
    )
    if results and record.unwritten:
        # Ranges an earlier run of this pass could not write stay unwritten.
        first = results[0]
        results[0] = replace(first, unwritten=merge_ranges(record.unwritten, first.unwritten))
    stopped = stop is not None and stop.is_set()
    if stopped or (results and results[-1].interrupted):
        gone = results[-1].error if results else None
        journal.record_interruption(gone or (stop.reason if stop else None) or "stopped")
    return JournaledRun((*earlier_passes(record), *results), journal)


def journaled_passes(
    fd: int,
    target: JournalTarget,
    method: Method,
    folder: Path,
    options: PassOptions,
    *,
    resume: bool,
    stop: StopRequest | None = None,
    after_pass: Callable[[PassResult], None] | None = None,
    digest: str | None = None,
) -> JournaledRun:
    """Overwrite ``target`` (open as ``fd``) under a wipe journal file in ``folder``: the
    pending one (``pending_journal``) or a new one, then ``run_journaled``.

    A pending journal of the same target is refused unless ``resume``; with it, the wipe
    continues from where the journal says it was durable, with the same passes and keys.
    A journal of another medium at the same place (another inode, generation, birth time,
    diskseq, size or serial, or a file not holding what the journaled passes wrote) is
    refused: nothing is written. An interruption is recorded; the journal is then kept.

    ``digest`` (the caller's, of the content read before the first write) goes into a new
    journal; a resumed wipe keeps the one its journal holds (``journal.record.digest``).
    """
    journal = pending_journal(folder, target, method, resume=resume, fd=fd)
    if journal is None:
        journal = WipeJournal.create(folder, target, method.name, resolve(method), digest=digest)
    else:
        journal.record_resume()
    return run_journaled(fd, journal, options, stop=stop, after_pass=after_pass)
