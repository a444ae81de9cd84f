"""The wipe journal: where a running wipe stands, so that an interrupted one can be finished.

One JSON file per running wipe, in a folder the caller names (``<home>/journal/``); a
caller with a log of its own may keep the same record there until the wipe stops
unfinished (``WipeJournal.persist``; ``workflows.destroy.logged_journal``). It holds
the target's identity (re-checked before resuming: a different medium is refused), the
method and its resolved passes, the pass in progress and the offset up to which that pass
is known durable, the ranges the medium refused so far, the passes already completed, the
interruptions and resumes, and the caller's digest of the content read before the first
write (a resumed wipe finds the content partly overwritten: this is what it destroyed).

What it claims. The offset only moves through ``WipeJournal.update``, which is meant to be
the engine's ``PassOptions.on_durable`` callback: the engine calls it only after the
``fdatasync`` that made the offset durable, at the end of each pass and, with periodic
checkpoints (``checkpoint_bytes``), every so many bytes within a pass. The journal never
claims more than was synced; after a crash or a power cut, resuming from it rewrites at
most what was written since the last checkpoint. Ranges the medium refused are recorded
with the offset that covers them, so a resumed wipe still reports them and can never turn a
partial wipe into a success.

Keys. A random pass can only be resumed by writing the same keystream, so the keys of the
random passes are kept here, in hex, until the journal is removed. That is acceptable: a
key protects nothing. It encrypts no data; it only generates the bytes that overwrite data
being destroyed, and the final pass's key is published in the certificate anyway as its
verification seed. The file is still private (mode 0600): it says what is being wiped.

Writes are atomic: a temporary file in the same folder, ``fsync``, ``rename`` over the
journal, ``fsync`` of the folder. A crash at any point leaves the previous journal or the
new one, never a torn one.
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.shred.journal.record import (
        JOURNAL_SCHEMA,
        DonePass,
        JournalEvent,
        JournalRecord,
    )
    from expunge.shred.journal.store import (
        SUFFIX,
        WipeJournal,
        find_journal,
        journal_of_file,
        journal_path,
        make_folder,
        new_record,
    )
    from expunge.shred.journal.target import JournalTarget

__all__ = [
    "JOURNAL_SCHEMA",
    "SUFFIX",
    "DonePass",
    "JournalEvent",
    "JournalRecord",
    "JournalTarget",
    "WipeJournal",
    "find_journal",
    "journal_of_file",
    "journal_path",
    "make_folder",
    "new_record",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
