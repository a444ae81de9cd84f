"""Wipe journals kept in the run's log while the run lives.

A destruction already syncs a line to its run log before each file's first write; the
file's new wipe journal goes into that same line, and every later change of it into a
line of its own, synced like the journal file would be. A tree of thousands of files then
creates, replaces and removes no journal file per file: on ext4 without a journal, whose
inode allocator reads past every inode freed in the last minutes, that churn cost more
than the overwrites (one new inode per journal write, one freed per replaced version).

A journal leaves the log for the journal folder (``materialize``) when the wipe stops
unfinished: a Ctrl-C or a medium that went away, in the run, or, for a run that died,
when ``recover`` finds its passes incomplete. ``--resume``, the refusal of a pending
wipe and every later command then find it where they always look. A wipe that finished
has nothing to remove: its journal goes with the log, once the certificate is recorded.

The line saying the last pass is durable is not synced on its own: the file's next
durable step (its read-back, which comes before its name is touched) syncs it with
itself, and the caller syncs the log where no such step follows (``settle``). Lost to a
power cut in between, it leaves the wipe looking unfinished, which is resumed by writing
again: never a claim of more than was done.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from expunge.shred.journal import JournalRecord, WipeJournal, journal_path, make_folder

if TYPE_CHECKING:
    from expunge.workflows.destroy.runlog import RunLog


class LoggedJournal(WipeJournal):
    """A wipe journal written to a run log (``log``) until it must be a file.

    Without a log (one read back from a dead run's log by ``recover``) it is only a
    record, until ``materialize``.
    """

    def __init__(self, path: Path, record: JournalRecord, log: RunLog | None = None) -> None:
        super().__init__(path, record)
        self._log = log
        self.on_disk = False
        self._unsynced = False

    @classmethod
    def in_log(cls, log: RunLog, folder: Path, record: JournalRecord) -> LoggedJournal:
        """The journal of a new wipe, to live in ``log``; the caller logs ``record`` as
        the file's ``file`` step, before its first write."""
        return cls(journal_path(folder, record.target), record, log)

    def persist(self, record: JournalRecord) -> None:
        """A ``journal`` line in the log, synced (the one saying the last pass is durable
        by the file's next durable step, or ``settle``); the journal file once it is one."""
        if self.on_disk or self._log is None:
            super().persist(record)
            self.on_disk = True
        else:
            self._unsynced = record.finished
            self._log.journal(record, durable=not record.finished)

    def settle(self) -> None:
        """Sync the log if the journal's last line is not yet durable (no durable step of
        the file followed it)."""
        if self._unsynced and self._log is not None:
            self._log.sync()
        self._unsynced = False

    def record_interruption(self, reason: str, *, now: datetime | None = None) -> None:
        """Note that the wipe stopped, in the journal folder: ``--resume`` finishes it."""
        self.materialize()
        super().record_interruption(reason, now=now)

    def materialize(self) -> None:
        """Write the journal to its file in the journal folder, if it is not there yet."""
        if not self.on_disk:
            make_folder(self.path.parent)
            super().persist(self.record)
            self.on_disk = True

    def complete(self) -> None:
        """The wipe is over: only a journal that became a file has anything to remove."""
        if self.on_disk:
            super().complete()
