"""The wipe journal: what it records, what it refuses, and how a wipe resumes from it."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from expunge.core.errors import IntegrityError, RefusedError
from expunge.shred.journal import (
    JOURNAL_SCHEMA,
    SUFFIX,
    JournalTarget,
    WipeJournal,
    find_journal,
)
from expunge.shred.overwrite import PassOptions, run_passes
from expunge.shred.patterns import PassPattern
from expunge.shred.report import ByteRange, TargetIdentity
from tests.support.faults import (
    FaultyImage,
    MiB,
    cover,
    differing_blocks,
    expected_image,
    needs_engine_checkpoints,
)

SIZE = 8 * MiB
FILE = JournalTarget("/srv/secret.db", "file", SIZE, 2049, 131)
DRIVE = JournalTarget(
    "/dev/sdb", "device", 1 << 30, 2064, 900, diskseq=17, serial="AA11", boot_id="boot-1"
)

Image = Callable[[int], FaultyImage]


def passes() -> tuple[PassPattern, ...]:
    return (PassPattern.fixed(b"\x00"), PassPattern.random(), PassPattern.random())


def on_disk(journal: WipeJournal) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(journal.path.read_text(encoding="utf-8"))
    return data


def test_a_new_journal_is_private_and_holds_the_keys(tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    planned = passes()
    journal = WipeJournal.create(folder, FILE, "dod-3", planned)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    assert journal.path.name.endswith(SUFFIX)
    data = on_disk(journal)
    keys = [p.key.hex() if p.key else None for p in planned]
    assert [p["key"] for p in data["passes"]] == keys
    assert keys[0] is None and all(keys[1:])
    assert (data["pass"], data["offset"], data["done"]) == (1, 0, [])
    assert WipeJournal.load(journal.path).record == journal.record
    assert journal.record.passes == planned
    assert journal.record.resume_point == (1, 0)


def test_durable_progress_moves_through_passes_and_keeps_refused_ranges(tmp_path: Path) -> None:
    journal = WipeJournal.create(tmp_path, FILE, "dod-3", passes())
    first, second = ByteRange(4096, 8192), ByteRange(5 * MiB, 5 * MiB + 512)
    journal.update(1, 2 * MiB, [first])
    journal.update(1, 6 * MiB, [second])  # a later run reports only what it found
    assert journal.record.resume_point == (1, 6 * MiB)
    assert journal.record.unwritten == (first, second)
    journal.update(1, SIZE, [])
    journal.update(2, SIZE, [])
    record = WipeJournal.load(journal.path).record
    assert record.resume_point == (3, 0)
    assert [(d.index, d.unwritten) for d in record.done] == [(1, (first, second)), (2, ())]
    assert record.unwritten == ()
    journal.update(3, SIZE, [ByteRange(SIZE - 512, SIZE)])
    assert journal.record.finished
    assert journal.record.done[-1].unwritten == (ByteRange(SIZE - 512, SIZE),)
    # Nothing but the journal itself in the folder: every temporary file was renamed.
    assert [p.name for p in tmp_path.iterdir()] == [journal.path.name]


@pytest.mark.parametrize(
    ("pass_index", "offset"),
    [(1, 1 * MiB), (2, 4 * MiB), (1, SIZE + 1)],
    ids=["backwards", "skips-a-pass", "past-the-end"],
)
def test_progress_never_goes_backwards_or_skips(
    tmp_path: Path, pass_index: int, offset: int
) -> None:
    journal = WipeJournal.create(tmp_path, FILE, "dod-3", passes())
    journal.update(1, 2 * MiB, [])
    before = journal.path.read_bytes()
    with pytest.raises(ValueError):
        journal.update(pass_index, offset, [])
    assert journal.path.read_bytes() == before
    assert journal.record.resume_point == (1, 2 * MiB)


def test_interruptions_and_resumes_are_recorded_where_the_wipe_stood(tmp_path: Path) -> None:
    journal = WipeJournal.create(tmp_path, FILE, "dod-3", passes())
    journal.update(1, SIZE, [])
    journal.update(2, 3 * MiB, [])
    journal.record_interruption("SIGINT")
    journal.record_resume()
    events = WipeJournal.load(journal.path).record.events
    assert [(e.kind, e.pass_index, e.offset, e.reason) for e in events] == [
        ("interrupted", 2, 3 * MiB, "SIGINT"),
        ("resumed", 2, 3 * MiB, ""),
    ]


def test_the_digest_read_before_the_first_write_is_kept_through_every_update(
    tmp_path: Path,
) -> None:
    digest = "ab" * 32
    journal = WipeJournal.create(tmp_path, FILE, "dod-3", passes(), digest=digest)
    assert on_disk(journal)["digest"] == digest  # in the first record, before any write
    journal.update(1, SIZE, [])
    journal.record_interruption("SIGINT")
    loaded = WipeJournal.load(journal.path)
    assert loaded.record.digest == digest and loaded.record.schema == JOURNAL_SCHEMA
    unhashed = WipeJournal.create(tmp_path / "other", FILE, "dod-3", passes())
    assert on_disk(unhashed)["digest"] is None


def test_a_journal_of_schema_2_loads_and_resumes_without_a_digest(tmp_path: Path) -> None:
    """Written before the digest was kept: found and resumed like before, digest unknown."""
    journal = WipeJournal.create(tmp_path, FILE, "dod-3", passes(), digest="ab" * 32)
    journal.update(1, SIZE, [])
    data = on_disk(journal)
    data["schema"] = 2
    del data["digest"]
    journal.path.write_text(json.dumps(data), encoding="utf-8")
    found = find_journal(tmp_path, FILE)
    assert found is not None and found.record.digest is None
    assert found.record.resume_point == (2, 0)
    found.record_resume()  # rewritten in its own schema
    assert "digest" not in on_disk(found) and on_disk(found)["schema"] == 2


def test_complete_removes_the_journal(tmp_path: Path) -> None:
    journal = WipeJournal.create(tmp_path, FILE, "clear", passes()[:1])
    journal.complete()
    assert not journal.path.exists()
    assert find_journal(tmp_path, FILE) is None


def test_a_second_wipe_of_a_journaled_target_is_refused(tmp_path: Path) -> None:
    WipeJournal.create(tmp_path, FILE, "clear", passes())
    with pytest.raises(RefusedError, match="already journaled"):
        WipeJournal.create(tmp_path, FILE, "zero", passes())
    # Another target is independent.
    other = replace(FILE, path="/srv/other.db", inode=132)
    WipeJournal.create(tmp_path, other, "clear", passes())
    assert find_journal(tmp_path, other) is not None


def test_find_journal_returns_the_journal_of_the_same_medium(tmp_path: Path) -> None:
    assert find_journal(tmp_path / "missing", FILE) is None
    journal = WipeJournal.create(tmp_path, FILE, "clear", passes())
    (tmp_path / f".{journal.path.name}.dead.tmp").write_text("torn")  # a crash's leftover
    found = find_journal(tmp_path, FILE)
    assert found is not None and found.record == journal.record


@pytest.mark.parametrize(
    ("journaled", "now", "named"),
    [
        (FILE, replace(FILE, inode=999), "inode 131 (journal) != 999 (now)"),
        (FILE, replace(FILE, size=SIZE * 2), "size"),
        (FILE, replace(FILE, device=7), "device"),
        (DRIVE, replace(DRIVE, diskseq=18), "diskseq 17 (journal) != 18 (now)"),
        (DRIVE, replace(DRIVE, serial="BB22"), "serial 'AA11' (journal) != 'BB22' (now)"),
        (DRIVE, replace(DRIVE, size=1 << 31, boot_id="boot-2"), "size"),
        (
            replace(DRIVE, serial=""),
            replace(DRIVE, serial="", boot_id="boot-2"),
            "no serial and the system restarted",
        ),
    ],
    ids=[
        "file-replaced",
        "file-resized",
        "file-other-filesystem",
        "drive-replugged",
        "drive-other-serial",
        "drive-other-size-after-reboot",
        "drive-without-serial-after-reboot",
    ],
)
def test_a_different_medium_is_refused_naming_what_differs(
    tmp_path: Path, journaled: JournalTarget, now: JournalTarget, named: str
) -> None:
    WipeJournal.create(tmp_path, journaled, "clear", passes())
    with pytest.raises(RefusedError, match="not the medium") as refused:
        find_journal(tmp_path, now)
    assert named in refused.value.diagnostics()


def test_after_a_reboot_a_drive_is_recognised_by_serial_and_size(tmp_path: Path) -> None:
    """diskseq, device numbers and the node name are counted afresh at every boot."""
    journal = WipeJournal.create(tmp_path, DRIVE, "clear", passes())
    rebooted = replace(DRIVE, path="/dev/sdc", device=2080, inode=77, diskseq=3, boot_id="b2")
    found = find_journal(tmp_path, rebooted)
    assert found is not None and found.record == journal.record


def test_from_identity_keeps_what_identifies_the_medium() -> None:
    identity = TargetIdentity("/dev/sdb", "device", 1 << 30, 2064, 900, "", 1, 12345)
    target = JournalTarget.from_identity(identity, diskseq=17, serial="AA11", boot_id="boot-1")
    assert target == DRIVE


def _corrupt(data: dict[str, Any], change: str) -> None:
    if change == "unknown-key":
        data["extra"] = 1
    elif change == "missing-key":
        del data["updated"]
    elif change == "bool-offset":
        data["offset"] = True
    elif change == "short-key":
        data["passes"][1]["key"] = "00" * 16
    elif change == "fixed-with-key":
        data["passes"][0]["key"] = "00" * 32
    elif change == "pass-out-of-range":
        data["pass"] = 9
    elif change == "offset-past-end":
        data["offset"] = SIZE
    elif change == "unsorted-ranges":
        data["unwritten"] = [{"start": 512, "end": 1024}, {"start": 0, "end": 512}]
    elif change == "range-above-offset":
        data["unwritten"] = [{"start": 2 * MiB, "end": 3 * MiB}]
    elif change == "done-mismatch":
        data["done"] = []
    elif change == "naive-time":
        data["started"] = "2026-01-01T00:00:00"
    elif change == "schema":
        data["schema"] = JOURNAL_SCHEMA + 1
    elif change == "target-kind":
        data["target"]["kind"] = "tape"
    elif change == "digest-not-hex":
        data["digest"] = "not a digest"
    elif change == "digest-upper-case":
        data["digest"] = "AB" * 32
    elif change == "digest-missing":
        del data["digest"]
    elif change == "digest-in-schema-2":
        data["schema"] = 2


CORRUPTIONS = [
    "unknown-key",
    "missing-key",
    "bool-offset",
    "short-key",
    "fixed-with-key",
    "pass-out-of-range",
    "offset-past-end",
    "unsorted-ranges",
    "range-above-offset",
    "done-mismatch",
    "naive-time",
    "schema",
    "target-kind",
    "digest-not-hex",
    "digest-upper-case",
    "digest-missing",
    "digest-in-schema-2",
]


@pytest.mark.parametrize("change", CORRUPTIONS)
def test_a_journal_that_is_not_exactly_valid_is_refused(tmp_path: Path, change: str) -> None:
    journal = WipeJournal.create(tmp_path, FILE, "dod-3", passes(), digest="ab" * 32)
    journal.update(1, SIZE, [])
    journal.update(2, MiB, [ByteRange(0, 512)])
    data = on_disk(journal)
    _corrupt(data, change)
    journal.path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IntegrityError, match="invalid wipe journal") as refused:
        WipeJournal.load(journal.path)
    assert str(journal.path) in refused.value.diagnostics()


def test_a_torn_journal_is_refused(tmp_path: Path) -> None:
    journal = WipeJournal.create(tmp_path, FILE, "dod-3", passes())
    journal.path.write_bytes(journal.path.read_bytes()[:100])
    with pytest.raises(IntegrityError):
        find_journal(tmp_path, FILE)


@needs_engine_checkpoints
def test_engine_reports_bad_ranges_and_checkpoints_into_the_journal(
    faulty_image: Image, tmp_path: Path
) -> None:
    """The engine's own callback keeps the journal: checkpoints within a pass, the ranges
    the medium refused, and a drive pulled in pass 2, resumed once it is back."""
    size = 16 * MiB
    image = faulty_image(size)
    bad = [[12 * MiB + 100, 12 * MiB + 200]]
    image.set_faults(write_errors=bad)
    st = os.stat(image.backing)
    target = JournalTarget(str(image.path), "file", size, st.st_dev, st.st_ino)
    planned = passes()
    journal = WipeJournal.create(tmp_path, target, "dod-3", planned)
    seen: list[tuple[int, int]] = []

    def update(index: int, offset: int, unwritten: tuple[ByteRange, ...]) -> None:
        journal.update(index, offset, unwritten)
        seen.append((index, offset))
        if (index, offset) == (1, size):
            # Pass 1 is durable: the drive will be pulled 6 MiB into pass 2.
            image.set_faults(write_errors=bad, fail_after_bytes=6 * MiB, gone_errno="ENXIO")

    options = PassOptions(
        block_size=512,
        buffered=False,
        checkpoint_bytes=4 * MiB,
        on_durable=update,
    )
    fd = os.open(image.path, os.O_RDWR | os.O_CLOEXEC)
    try:
        first = run_passes(fd, size, planned, options)
        assert [r.index for r in first] == [1, 2] and first[-1].interrupted
        journal.record_interruption("medium gone")
        assert journal.record.resume_point == (2, 4 * MiB)  # the last checkpoint before it
        assert seen == [(1, 4 * MiB), (1, 8 * MiB), (1, 12 * MiB), (1, size), (2, 4 * MiB)]
        image.set_faults(write_errors=bad)  # plugged back in
        journal.record_resume()
        index, offset = journal.record.resume_point
        rest = run_passes(fd, size, planned, options, first_pass=index, first_offset=offset)
    finally:
        os.close(fd)
    assert [(r.index, r.resumed_from) for r in rest] == [(2, 4 * MiB), (3, 0)]
    record = journal.record
    assert record.finished
    assert [e.kind for e in record.events] == ["interrupted", "resumed"]
    unwritten = cover([(a, b) for a, b in bad], 512, size)
    assert [d.unwritten for d in record.done] == [unwritten] * 3
    expected = expected_image(planned[-1], image.original, unwritten)
    assert differing_blocks(image.content(), expected) == []
