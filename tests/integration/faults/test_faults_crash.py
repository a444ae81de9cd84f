"""SIGKILL a journaled wipe at random moments, cut the power, resume: the journal never
claims more than is durable, and the resumed wipe ends with exactly the final pass.

The medium is a faultfs image with a volatile write cache: writes reach the backing file
only at fsync. After the wiper is killed, the filesystem process is killed too (a power
cut), so the backing file holds exactly what was made durable. Dropping the kernel's page
cache would not show this: a killed process's writes stay in the page cache and are
written back, not lost; only losing the cache below the sync, as here, tells a claim made
after the sync from one made before it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from expunge.shred.journal import SUFFIX, WipeJournal
from expunge.shred.patterns import expected_bytes
from tests.support.faults import FaultyImage, MiB, needs_engine_checkpoints

SIZE = 4 * MiB
SEGMENT = MiB // 2
CHILD = Path(__file__).with_name("wipe_child.py")

Image = Callable[[int], FaultyImage]


def start(image: FaultyImage, journals: Path, mode: str) -> subprocess.Popen[str]:
    """A wiper process (see ``wipe_child.py``), its output piped."""
    args = [CHILD, journals, image.path, image.backing, mode, SEGMENT]
    return subprocess.Popen(
        [sys.executable, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait for a wiper to end by itself, successfully."""
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err


def kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL our wiper (by its PID), wherever it is."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def the_journal(journals: Path) -> WipeJournal | None:
    """The one journal in the folder, if the wiper got to create it."""
    found = sorted(journals.glob(f"*{SUFFIX}")) if journals.exists() else []
    assert len(found) <= 1
    return WipeJournal.load(found[0]) if found else None


def check_claims(image: FaultyImage, journals: Path) -> WipeJournal | None:
    """After a power cut: everything the journal claims durable is on the medium."""
    journal = the_journal(journals)
    content = image.content()
    if journal is None:
        # No journal, no write: the wiper creates the journal before its first write.
        if content != image.original:
            raise AssertionError("no journal, yet the medium was written")
        return None
    record = journal.record
    if record.finished:
        if content != expected_bytes(record.passes[-1], 0, SIZE):
            raise AssertionError("journal says finished, medium disagrees")
        return journal
    index, offset = record.resume_point
    current = expected_bytes(record.passes[index - 1], 0, SIZE)
    # Plain comparisons, not asserts: pytest would diff megabytes of bytes on a failure.
    if content[:offset] != current[:offset]:
        raise AssertionError(f"journal claims pass {index} to {offset}")
    # Past the claim: this pass where a sync beat the journal update, else the previous
    # pass, which the journal claims complete (or the original content before pass 1).
    previous = expected_bytes(record.passes[index - 2], 0, SIZE) if index > 1 else image.original
    for block in range(offset, SIZE, 4096):
        piece = content[block : block + 4096]
        if piece not in (current[block : block + 4096], previous[block : block + 4096]):
            raise AssertionError(f"block at {block} is neither this pass nor the previous")
    return journal


def wait_for(proc: subprocess.Popen[str], line: str) -> None:
    """Read the wiper's output until ``line``."""
    assert proc.stdout is not None
    while proc.stdout.readline().strip() != line:
        assert proc.poll() is None, f"the wiper ended before printing {line!r}"


def crash_and_resume(image: FaultyImage, journals: Path, mode: str, runs: int) -> list[int]:
    """``runs`` wipes, each killed one to three times at random, then resumed to the end;
    the number of interruptions each survived."""
    rng = random.Random(os.urandom(8))
    # An uninterrupted run gives the time scales of the random kills: the start (imports,
    # journal creation), then the wipe itself.
    began = time.monotonic()
    proc = start(image, journals, mode)
    wait_for(proc, "journal")
    journaled = time.monotonic()
    finish(proc)
    startup, wiping = journaled - began, time.monotonic() - journaled
    journal = the_journal(journals)
    assert journal is not None and journal.record.finished
    journal.complete()
    survived = []
    for _ in range(runs):
        image.backing.write_bytes(image.original)
        for _ in range(rng.randint(1, 3)):
            proc = start(image, journals, mode)
            if rng.random() < 0.2:
                time.sleep(rng.uniform(0, startup))  # maybe while creating the journal
            else:
                wait_for(proc, "journal")
                time.sleep(rng.uniform(0, wiping))
            if proc.poll() is None:
                kill(proc)
            else:
                finish(proc)
            image.power_cut()
            check_claims(image, journals)
        finish(start(image, journals, mode))
        journal = check_claims(image, journals)
        assert journal is not None and journal.record.finished
        assert image.content() == expected_bytes(journal.record.passes[-1], 0, SIZE)
        survived.append(sum(e.kind == "resumed" for e in journal.record.events))
        journal.complete()
        assert the_journal(journals) is None
    return survived


def test_killed_wipes_resume_to_the_exact_final_pass(faulty_image: Image, tmp_path: Path) -> None:
    image = faulty_image(SIZE)
    image.set_faults(volatile=True, delay=0.002)
    survived = crash_and_resume(image, tmp_path / "journal", "segments", runs=15)
    # Most runs were killed after their journal existed and were really resumed.
    assert sum(1 for n in survived if n > 0) >= 5, survived


@needs_engine_checkpoints
def test_engine_checkpoints_resume_to_the_exact_final_pass(
    faulty_image: Image, tmp_path: Path
) -> None:
    image = faulty_image(SIZE)
    image.set_faults(volatile=True, delay=0.002)
    survived = crash_and_resume(image, tmp_path / "journal", "engine", runs=8)
    assert sum(1 for n in survived if n > 0) >= 3, survived


def test_a_journal_written_before_the_sync_is_caught(faulty_image: Image, tmp_path: Path) -> None:
    """The negative control: claims made before the sync are exposed by the power cut."""
    image = faulty_image(SIZE)
    image.set_faults(volatile=True, delay=0.05)
    journals = tmp_path / "journal"
    proc = start(image, journals, "lying")
    wait_for(proc, "claimed")
    kill(proc)
    image.power_cut()
    with pytest.raises(AssertionError, match="journal claims pass 1"):
        check_claims(image, journals)
