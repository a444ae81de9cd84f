"""The wipe journal is pinned to the object it was written for: an interrupted wipe is
never resumed onto another file that took the same path, inode number and size, nor onto
a file that no longer holds what the journaled passes wrote."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from expunge.core.errors import EXIT_REFUSED, RefusedError
from expunge.core.progress import StopRequest
from expunge.shred import files, libc
from expunge.shred.journal import JournalTarget, WipeJournal, find_journal
from expunge.shred.methods import get_method
from expunge.shred.overwrite import PassOptions
from expunge.shred.patterns import PassPattern
from expunge.shred.report import PassResult
from expunge.shred.resume import journaled_passes
from tests.support import MountedImage, needs_root, run_cli
from tests.support.resume import certificates

MiB = 1 << 20


def interrupt_at_pass(path: Path, journals: Path, method: str, stop_after: int) -> WipeJournal:
    """A journaled wipe of ``path`` stopped once pass ``stop_after`` is durable, as a
    Ctrl-C there leaves it."""
    stop = StopRequest()

    def after(result: PassResult) -> None:
        if result.index == stop_after:
            stop.request("SIGINT")

    with files.open_file(str(path), files.FileOptions()) as opened:
        run = journaled_passes(
            opened.fd,
            opened.journal_target,
            get_method(method),
            journals,
            PassOptions(stop=stop),
            resume=False,
            stop=stop,
            after_pass=after,
        )
    return run.journal


@needs_root
def test_destroy_never_resumes_onto_a_new_file_with_the_old_inode_number(
    ext4_image: MountedImage, cli_home: Path
) -> None:
    doc = ext4_image.mount / "report.bin"
    doc.write_bytes(os.urandom(4 * MiB))
    registered = run_cli(
        "ledger", "register", doc, "--classification", "internal", "--id", "DOC-1", home=cli_home
    )
    assert registered.code == 0, registered.err
    journal = interrupt_at_pass(doc, cli_home / "journal", "dod-7", stop_after=5)
    assert journal.record.resume_point == (6, 0)
    old_inode = doc.stat().st_ino
    doc.unlink()
    other = os.urandom(4 * MiB)
    doc.write_bytes(other)  # a different file: same path, same size, the freed inode
    assert doc.stat().st_ino == old_inode

    result = run_cli("destroy", "DOC-1", "--yes", "-m", "dod-7", home=cli_home)
    assert result.code == EXIT_REFUSED, result
    assert "not the medium the interrupted wipe was writing" in result.err
    assert "generation" in result.err and "Traceback" not in result.err
    assert doc.read_bytes() == other
    assert not any(c["outcome"] == "success" for c in certificates(cli_home))
    shown = run_cli("ledger", "show", "DOC-1", "--json", home=cli_home)
    assert '"destroyed"' not in shown.out.replace('"destroyed": []', "")


def test_a_file_that_no_longer_holds_the_journaled_passes_is_not_resumed(tmp_path: Path) -> None:
    doc = tmp_path / "doc.bin"
    doc.write_bytes(os.urandom(MiB))
    journals = tmp_path / "journal"
    journal = interrupt_at_pass(doc, journals, "dod-3", stop_after=1)
    with files.open_file(str(doc), files.FileOptions()) as opened:
        # Untouched since: the content check passes, and the journal is found.
        assert find_journal(journals, opened.journal_target, fd=opened.fd) is not None
        os.pwrite(opened.fd, os.urandom(MiB), 0)  # rewritten in place since: same inode
        with pytest.raises(RefusedError, match="bytes at offset 0 are not what pass 1 or 2"):
            find_journal(journals, opened.journal_target, fd=opened.fd)
    assert journal.path.exists()


def _as_schema_1(journal: WipeJournal) -> None:
    data = json.loads(journal.path.read_text())
    data["schema"] = 1
    del data["digest"]
    for pin in ("generation", "birth_ns"):
        del data["target"][pin]
    journal.path.write_text(json.dumps(data))


def test_a_file_journal_of_schema_1_loads_but_is_never_resumed(tmp_path: Path) -> None:
    doc = tmp_path / "doc.bin"
    doc.write_bytes(os.urandom(MiB))
    journals = tmp_path / "journal"
    journal = interrupt_at_pass(doc, journals, "dod-3", stop_after=1)
    _as_schema_1(journal)
    loaded = WipeJournal.load(journal.path)
    assert loaded.record.schema == 1 and loaded.record.target.generation is None
    refusal = pytest.raises(RefusedError, match="older expunge that did not pin the file")
    with files.open_file(str(doc), files.FileOptions()) as opened, refusal:
        find_journal(journals, opened.journal_target, fd=opened.fd)


def test_a_device_journal_of_schema_1_still_resumes(tmp_path: Path) -> None:
    drive = JournalTarget("/dev/sdx", "device", MiB, 2080, 7, 41, "SERIAL1", "boot-1")
    journal = WipeJournal.create(tmp_path, drive, "clear", (PassPattern.random(bytes(32)),))
    _as_schema_1(journal)
    found = find_journal(tmp_path, drive)
    assert found is not None and found.record.schema == 1
    found.record_interruption("medium gone")  # rewritten in its own schema
    assert WipeJournal.load(journal.path).record.events[-1].reason == "medium gone"


def test_an_opened_file_is_pinned_by_its_own_birth_time_and_generation(tmp_path: Path) -> None:
    # The pins come from the descriptor that is overwritten: a file recreated under the
    # same name is born later, so its journal target differs.
    doc = tmp_path / "doc.bin"
    doc.write_bytes(os.urandom(4096))
    with files.open_file(str(doc), files.FileOptions()) as first:
        facts = libc.statx_fd(first.fd)
        if facts is None or facts.birth_ns is None:
            pytest.skip(f"{tmp_path}'s filesystem records no birth time (statx btime)")
        assert first.birth_ns == facts.birth_ns
        assert first.journal_target.birth_ns == facts.birth_ns
        pinned = first.journal_target
    doc.unlink()
    doc.write_bytes(os.urandom(4096))
    with files.open_file(str(doc), files.FileOptions()) as second:
        assert second.birth_ns is not None and second.birth_ns >= facts.birth_ns
        assert second.journal_target != pinned or second.generation != first.generation
