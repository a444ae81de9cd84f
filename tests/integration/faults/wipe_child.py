"""A journaled wipe in its own process, for crash tests that SIGKILL it at any moment.

    python wipe_child.py JOURNALS TARGET BACKING MODE SEGMENT

Starts a new wipe of TARGET (three passes: ``55``, random, random) or resumes the one
journaled in JOURNALS, and runs it to the end, leaving the journal for the test to read.
BACKING is the file that holds TARGET's bytes: the medium is identified by it, because a
FUSE mount gets a new device number at every remount, as a re-plugged drive gets a new
diskseq. MODE says how durable progress reaches the journal:

``segments``
    the engine writes SEGMENT bytes at a time (``write_pass`` syncs each), and the journal
    is updated after each returns: the order the engine's ``on_durable`` follows.
``engine``
    ``run_passes`` with ``checkpoint_bytes=SEGMENT`` and ``on_durable=journal.update``
    (needs the engine's periodic checkpoints).
``lying``
    a deliberately wrong order for the negative control: each segment is claimed in the
    journal *before* it is written; the line ``claimed`` is printed right after each claim.

The line ``journal`` is printed once the journal exists (created or resumed).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from expunge.shred.journal import JournalTarget, WipeJournal, find_journal
from expunge.shred.overwrite import PassOptions, WriteBuffer, run_passes, write_pass
from expunge.shred.patterns import PassPattern


def main(folder: Path, target_path: str, backing: str, mode: str, segment: int) -> None:
    """Create or resume the journaled wipe of ``target_path`` and run it to the end."""
    fd = os.open(target_path, os.O_RDWR | os.O_CLOEXEC)
    st = os.stat(backing)
    target = JournalTarget(target_path, "file", st.st_size, st.st_dev, st.st_ino)
    journal = find_journal(folder, target)
    if journal is None:
        passes = (PassPattern.fixed(b"\x55"), PassPattern.random(), PassPattern.random())
        journal = WipeJournal.create(folder, target, "crash-test", passes)
    else:
        journal.record_resume()
    print("journal", flush=True)
    record = journal.record
    size, (first_pass, first_offset) = target.size, record.resume_point
    options = PassOptions(block_size=4096, buffered=False)
    if mode == "engine":
        checkpointed = PassOptions(
            block_size=4096,
            buffered=False,
            checkpoint_bytes=segment,
            on_durable=journal.update,
        )
        run_passes(
            fd, size, record.passes, checkpointed, first_pass=first_pass, first_offset=first_offset
        )
        return
    buffer = WriteBuffer(1 << 20)
    for index in range(first_pass, len(record.passes) + 1):
        offset = first_offset if index == first_pass else 0
        while offset < size:
            end = min(offset + segment, size)
            if mode == "lying":
                journal.update(index, end, ())
                print("claimed", flush=True)
            result = write_pass(fd, end, record.passes[index - 1], index, buffer, options, offset)
            assert result.synced and not result.unwritten, result
            if mode == "segments":
                journal.update(index, end, result.unwritten)
            offset = end


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
