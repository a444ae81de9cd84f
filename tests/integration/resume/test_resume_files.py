"""``expunge shred`` on a failing medium, interrupted, killed and resumed: through the CLI,
on files served by faultfs (real kernel errors, no mocks).

The promise checked everywhere: a success certificate only for a target that holds its
final pass everywhere; an interrupted wipe says how to resume and ``--resume`` finishes it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from expunge.shred import files
from expunge.shred.journal import SUFFIX, JournalRecord, JournalTarget, WipeJournal
from expunge.shred.patterns import PassPattern
from tests.support import files_started, run_cli, run_state_left
from tests.support.faults import FaultyImage, MiB, cover, differing_blocks, expected_image
from tests.support.resume import (
    certificate,
    certificates,
    final_content,
    final_pattern,
    start_cli,
    unwritten,
)

Image = Callable[[int], FaultyImage]
SIZE = 8 * MiB
# FUSE files: an overwrite there cannot promise the blocks below, so it is accepted knowingly.
SHRED = ("shred", "--keep", "--accept-limitations", "--verify", "quick")


def journals(home: Path) -> list[Path]:
    """The wipe journals pending in ``home``."""
    folder = home / "journal"
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.exists() else []


def wait_for_journal(home: Path, proc: object, timeout: float = 20) -> None:
    """Until the wipe has journaled its start, in its run's log (and so may be writing)."""
    deadline = time.monotonic() + timeout
    while not files_started(home):
        assert time.monotonic() < deadline, "no file was started"
        time.sleep(0.02)


def test_a_bad_range_is_reported_exactly_and_everything_else_is_written(
    faulty_image: Image, tmp_path: Path
) -> None:
    image = faulty_image(SIZE)
    injected = [(3 * MiB + 100, 3 * MiB + 5000)]
    image.set_faults(write_errors=[list(r) for r in injected])
    home = tmp_path / "home"
    done = run_cli(*SHRED, image.path, home=home)
    assert done.code == 6, done.err
    assert "PARTIAL" in done.out
    assert "unwritten: 1 range(s), 5120 bytes" in done.out
    assert f"[{3 * MiB}, {3 * MiB + 5120})" in done.out
    (cert,) = certificates(home)
    assert cert["outcome"] != "success"
    assert unwritten(cert) == cover(injected, 512, SIZE)
    expected = expected_image(final_pattern(cert), image.original, unwritten(cert))
    assert differing_blocks(image.content(), expected) == []
    assert journals(home) == []  # the outcome is final: nothing to resume


def test_on_error_abort_stops_at_the_first_bad_range(faulty_image: Image, tmp_path: Path) -> None:
    image = faulty_image(SIZE)
    image.set_faults(write_errors=[[2 * MiB, 2 * MiB + 512]])
    home = tmp_path / "home"
    done = run_cli(*SHRED, "--on-error", "abort", "--json", image.path, home=home)
    assert done.code == 6, done.err
    (cert,) = certificates(home)
    assert cert["outcome"] != "success"
    assert unwritten(cert)[0].start == 2 * MiB
    assert unwritten(cert)[-1].end == SIZE


def test_a_medium_gone_at_40_percent_is_interrupted_and_keeps_its_journal(
    faulty_image: Image, tmp_path: Path
) -> None:
    image = faulty_image(SIZE)
    image.set_faults(fail_after_bytes=SIZE * 4 // 10, gone_errno="ENXIO")
    home = tmp_path / "home"
    done = run_cli(*SHRED, image.path, home=home)
    assert done.code == 6, done.err
    assert "INTERRUPTED" in done.out
    assert "stopped answering" in done.out
    assert "--resume" in done.out
    (cert,) = certificates(home)
    assert cert["outcome"] == "interrupted"
    assert "stopped answering" in cert["interrupted_by"]
    (journal,) = journals(home)
    record = WipeJournal.load(journal).record
    assert record.events[-1].kind == "interrupted"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_certifies_the_interruption_and_resume_finishes(
    faulty_image: Image, tmp_path: Path, signum: signal.Signals
) -> None:
    image = faulty_image(SIZE)
    image.set_faults(delay=0.05)  # about 3 s for the pass: time to interrupt it
    home = tmp_path / "home"
    proc = start_cli(*SHRED, image.path, home=home)
    wait_for_journal(home, proc)
    time.sleep(0.5)
    os.kill(proc.pid, signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert "INTERRUPTED" in out and "expunge shred --resume" in out
    assert "--resume" in err
    (interrupted,) = certificates(home)
    assert interrupted["outcome"] == "interrupted"
    assert interrupted["interrupted_by"] == signum.name

    again = run_cli(*SHRED, image.path, home=home)
    assert again.code == 3 and "--resume" in again.err  # a pending wipe is not restarted

    image.set_faults()
    resumed = run_cli(*SHRED, "--resume", image.path, home=home)
    assert resumed.code == 0, resumed.err
    assert "resumed at pass 1" in resumed.out
    final_path = Path(resumed.out.split("certificate (success): ")[1].split()[0])
    final = certificate(final_path)
    assert final["outcome"] == "success"
    assert "interrupted at pass 0" in final["notes"] and "resumed at pass 0" in final["notes"]
    assert image.content() == final_content(final, SIZE)
    checked = run_cli("cert", "verify", final_path, home=home)
    assert checked.code == 0, checked.err + checked.out
    assert journals(home) == []


def _logged_journals(home: Path) -> list[dict[str, Any]]:
    """The journal records the run logs of ``home`` hold, in the order they were logged."""
    found = []
    for log in sorted((home / "runs").glob("*.log")):
        for line in log.read_bytes().splitlines():
            step = json.loads(line)
            if step["type"] == "file" and "journal" in step:
                found.append(step["journal"])
            elif step["type"] == "journal":
                found.append(step["record"])
    return found


def test_a_killed_run_kept_its_journal_in_its_log_and_recover_writes_it_out(
    faulty_image: Image, tmp_path: Path
) -> None:
    size = 4 * MiB
    image = faulty_image(size)
    image.set_faults(delay=0.03)  # about a second a pass
    home = tmp_path / "home"
    method = ("--passes", "00,ff,R")
    proc = start_cli(*SHRED, *method, image.path, home=home)
    deadline = time.monotonic() + 60
    # Killed once the first pass is durable: the log holds the record and one change.
    while len(_logged_journals(home)) < 2:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    logged = _logged_journals(home)
    assert journals(home) == []  # the journal never had a file of its own

    recovered = run_cli("recover", home=home)
    assert recovered.code == 0, recovered.err
    assert "--resume" in recovered.out + recovered.err
    (journal,) = journals(home)  # written out for --resume, as last logged
    record = WipeJournal.load(journal).record
    assert record == JournalRecord.from_dict(logged[-1])
    assert [d.index for d in record.done][:1] == [1]

    image.set_faults()
    resumed = run_cli(*SHRED, *method, "--resume", image.path, home=home)
    assert resumed.code == 0, resumed.err
    final_path = Path(resumed.out.split("certificate (success): ")[1].split()[0])
    final = certificate(final_path)
    # The durable first pass is not written again: the resumed run starts after it.
    assert f"resumed at pass {record.resume_point[0] - 1}" in final["notes"]
    assert image.content() == final_content(final, size)
    assert run_state_left(home) == []


def test_a_stop_after_the_last_pass_before_its_read_back_keeps_the_journal_for_resume(
    faulty_image: Image, tmp_path: Path
) -> None:
    """Interrupted while reading back a pass that is complete: the content is no longer
    what it was, so the journal must be where the next run looks (found by a sweep of
    many documents, whose next run refused such a file as changed)."""
    image = faulty_image(SIZE)
    image.set_faults(delay=0.05)  # about 3 s to write, 3 s to read back in full
    home = tmp_path / "home"
    proc = start_cli(
        "shred", "--keep", "--accept-limitations", "--verify", "full", image.path, home=home
    )
    deadline = time.monotonic() + 60
    while not any(JournalRecord.from_dict(r).finished for r in _logged_journals(home)):
        assert proc.poll() is None, "the run ended before its read-back"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT, err
    (journal,) = journals(home)
    assert WipeJournal.load(journal).record.finished

    image.set_faults()
    resumed = run_cli(
        "shred",
        "--keep",
        "--accept-limitations",
        "--verify",
        "full",
        "--resume",
        image.path,
        home=home,
    )
    assert resumed.code == 0, resumed.err
    final_path = Path(resumed.out.split("certificate (success): ")[1].split()[0])
    assert image.content() == final_content(certificate(final_path), SIZE)
    assert journals(home) == []


def test_sigkill_at_random_moments_then_resume_never_certifies_an_incomplete_wipe(
    faulty_image: Image, tmp_path: Path
) -> None:
    size = 4 * MiB
    image = faulty_image(size)
    home = tmp_path / "home"
    # Three passes of about a second each: kills land inside passes and between them.
    method = ("--passes", "00,ff,R")
    moments = random.Random(9).sample([i / 10 for i in range(3, 30)], 6)
    for moment in moments:
        image.set_faults(delay=0.03)
        proc = start_cli(*SHRED, *method, "--resume", image.path, home=home)
        time.sleep(moment)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        if any(c["outcome"] == "success" for c in certificates(home)):
            break
    image.set_faults()
    if not any(c["outcome"] == "success" for c in certificates(home)):
        done = run_cli(*SHRED, *method, "--resume", image.path, home=home)
        assert done.code == 0, done.err
    successes = [c for c in certificates(home) if c["outcome"] == "success"]
    assert successes
    for cert in successes:
        assert len(cert["subjects"][0]["passes"]) == 3
        assert image.content() == final_content(cert, size)
    # A kill between the certificate and the journal's removal leaves a finished journal.
    assert all(WipeJournal.load(j).record.finished for j in journals(home))


def pinned_target(path: Path) -> JournalTarget:
    """The journal's view of ``path`` as a wipe of it would record it (pins included)."""
    with files.open_file(str(path), files.FileOptions()) as opened:
        return opened.journal_target


def test_a_different_file_at_the_journaled_path_is_refused_untouched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = tmp_path / "secret.bin"
    path.write_bytes(os.urandom(MiB))
    st = os.stat(path)
    identity = pinned_target(path)
    WipeJournal.create(home / "journal", identity, "clear", (PassPattern.random(bytes(32)),))
    path.unlink()
    keep = tmp_path / "keep"  # holds the old inode number so the new file gets another
    keep.write_bytes(b"")
    content = os.urandom(MiB)
    path.write_bytes(content)
    assert os.stat(path).st_ino != st.st_ino
    done = run_cli("shred", "--resume", path, home=home)
    assert done.code == 3, done.err
    assert "not the medium the interrupted wipe was writing" in done.err
    assert "inode" in done.err
    assert path.read_bytes() == content
    assert not (home / "certificates").exists() or certificates(home) == []


def test_a_pending_journal_refuses_every_path_before_the_first_write(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first, second = tmp_path / "first.bin", tmp_path / "second.bin"
    contents = {p: os.urandom(MiB) for p in (first, second)}
    for path, content in contents.items():
        path.write_bytes(content)
    identity = pinned_target(second)
    WipeJournal.create(home / "journal", identity, "clear", (PassPattern.random(bytes(32)),))
    done = run_cli("shred", first, second, home=home)
    assert done.code == 3, done.err
    assert "an interrupted wipe of this target is pending" in done.err
    assert "--resume" in done.err
    assert all(path.read_bytes() == content for path, content in contents.items())
