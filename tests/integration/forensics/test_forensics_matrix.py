"""The forensic matrix: on each real filesystem, exactly what ``shred`` does, proven by a
scan of the raw image.

Every medium holds files of unique content canaries. A control file removed with plain
``rm`` is found by the same scan afterwards, so a scan that finds nothing proves something.
Where expunge proceeds, no content canary of a shredded file is left in the image and the
certificate carries the note about what does survive (names); where it refuses, nothing is
written, and the same file overwritten anyway (``--accept-limitations``) shows why: its
content survives somewhere the overwrite did not reach.
"""

from __future__ import annotations

import mmap
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from expunge.core.errors import EXIT_REFUSED
from tests.support import Result, needs_root, run_cli
from tests.support.json_output import report_json

if TYPE_CHECKING:
    from tests.integration.forensics.conftest import Medium

pytestmark = [needs_root, pytest.mark.root]

MakeMedium = Callable[[str], "Medium"]


def canary(name: str) -> bytes:
    return f"CANARY-{name}-{os.urandom(6).hex()}|".encode()


def fill(path: Path, marker: bytes, size: int) -> None:
    path.write_bytes((marker * (size // len(marker) + 1))[:size])


def scan(image: Path, needles: list[bytes]) -> dict[bytes, int]:
    """How often each needle occurs in the raw image (read through one mapping)."""
    with open(image, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        counts = {}
        for needle in needles:
            found, at = 0, data.find(needle)
            while at >= 0:
                found += 1
                at = data.find(needle, at + 1)
            counts[needle] = found
        return counts


def shred(home: Path, *args: str | Path) -> tuple[Result, list[dict[str, object]]]:
    """``expunge shred --json ARGS``: the result, and the limitations of each file."""
    result = run_cli("shred", "--json", *args, home=home)
    files = []
    if result.code == 0:
        for destruction in report_json(result, "shred")["items"]:
            files.extend(destruction["files"])
    return result, files


def codes(files: list[dict[str, object]]) -> set[str]:
    return {lim["code"] for f in files for lim in f["wipe"]["limitations"]}  # type: ignore[index]


def populate(root: Path) -> dict[str, tuple[Path, bytes]]:
    """A large file, a middle one, a tiny one, and the control; names carry canaries too."""
    made = {}
    for label, size in (("large", 300_000), ("middle", 5000), ("tiny", 40), ("control", 50_000)):
        marker = canary(label)
        path = root / f"{label}-{os.urandom(4).hex()}.txt"
        fill(path, marker, size)
        made[label] = (path, marker)
    subprocess.run(["sync"], check=True)
    return made


def proceeds_with_nothing_left(
    medium: Medium, home: Path, notes: set[str], *labels: str
) -> dict[bytes, int]:
    """Shred the ``labels`` files: exit 0, each certified with ``notes``, no content
    canary left in the image, the control still there. Returns the counts of the names."""
    made = populate(medium.root)
    targets = [made[label] for label in labels]
    result, files = shred(home, *(path for path, _ in targets))
    assert result.code == 0, result.err
    assert notes <= codes(files), (notes, codes(files))
    assert all(f["wipe"]["removed"] for f in files)  # type: ignore[index]
    control, control_marker = made["control"]
    control.unlink()
    names = [os.fsencode(path.name) for path, _ in targets]
    medium.unmount()
    assert medium.image is not None
    found = scan(medium.image, [marker for _, marker in targets] + [control_marker])
    assert found.pop(control_marker) > 0, "plain rm leaves the content: the scan must see it"
    assert found == {marker: 0 for _, marker in targets}, found
    return scan(medium.image, names)


def refused_and_why(medium: Medium, home: Path, code: str, path: Path, marker: bytes) -> None:
    """Shredding ``path`` is refused with ``code`` and writes nothing; overwritten anyway,
    its content (``marker``) still survives in the raw image."""
    before = path.read_bytes()
    result, _ = shred(home, path)
    assert result.code == EXIT_REFUSED, result
    assert "--accept-limitations" in result.err and "Traceback" not in result.err
    assert path.read_bytes() == before
    accepted, files = shred(home, "--accept-limitations", path)
    assert accepted.code == 0, accepted.err
    assert code in codes(files)
    medium.unmount()
    assert medium.image is not None
    assert scan(medium.image, [marker])[marker] > 0, "the refusal's reason must be real"


def refused(medium: Medium, home: Path, code: str, label: str = "large") -> None:
    """``refused_and_why`` for one of the files ``populate`` makes."""
    path, marker = populate(medium.root)[label]
    refused_and_why(medium, home, code, path, marker)


def test_ext4_ordered_proceeds_with_a_note_about_names(medium: MakeMedium, cli_home: Path) -> None:
    notes = {"journal-metadata"}
    names = proceeds_with_nothing_left(medium("ext4"), cli_home, notes, "large", "tiny")
    # The note is honest: the scrubbed names are still in the journal.
    assert all(count > 0 for count in names.values()), names


@pytest.mark.parametrize("kind", ["ext4-data-journal-option", "ext4-data-journal-superblock"])
def test_ext4_data_journal_is_refused(medium: MakeMedium, cli_home: Path, kind: str) -> None:
    refused(medium(kind), cli_home, "data-journal")


def test_ext4_inline_data_refuses_inline_files_only(medium: MakeMedium, cli_home: Path) -> None:
    refused(medium("ext4-inline-data"), cli_home, "inline-data", label="tiny")


def test_ext4_inline_data_proceeds_for_files_in_blocks(medium: MakeMedium, cli_home: Path) -> None:
    image = medium("ext4-inline-data")
    proceeds_with_nothing_left(image, cli_home, {"journal-metadata"}, "large", "middle")


def test_ext2_proceeds(medium: MakeMedium, cli_home: Path) -> None:
    proceeds_with_nothing_left(medium("ext2"), cli_home, {"directory-names"}, "large", "tiny")


@pytest.mark.parametrize("kind", ["xfs", "xfs-reflink"])
def test_xfs_proceeds_with_a_note_about_names(
    medium: MakeMedium, cli_home: Path, kind: str
) -> None:
    names = proceeds_with_nothing_left(medium(kind), cli_home, {"journal-metadata"}, "large")
    # The note is honest: the scrubbed name is still in the log or a freed directory block.
    assert sum(names.values()) > 0, names


def test_xfs_reflinked_copy_is_refused(medium: MakeMedium, cli_home: Path) -> None:
    image = medium("xfs-reflink")
    path, marker = populate(image.root)["large"]
    # The copy shares the original's extents: overwriting the original must not pretend.
    copy = image.root / "copy-kept.txt"
    subprocess.run(["cp", "--reflink=always", str(path), str(copy)], check=True)
    refused_and_why(image, cli_home, "shared-extents", path, marker)


def test_btrfs_is_refused(medium: MakeMedium, cli_home: Path) -> None:
    refused(medium("btrfs"), cli_home, "copy-on-write")


def test_tmpfs_proceeds_with_the_memory_note(medium: MakeMedium, cli_home: Path) -> None:
    # No medium to scan: RAM. What can be checked is the note and that the file is gone.
    image = medium("tmpfs")
    made = populate(image.root)
    path, _ = made["large"]
    result, files = shred(cli_home, path)
    assert result.code == 0, result.err
    assert "memory-filesystem" in codes(files)
    assert not path.exists()


@pytest.mark.parametrize(
    ("kind", "notes"),
    [
        ("fusefat", {"fat-names", "fuse-server"}),
        ("exfat-fuse", {"exfat-names", "fuse-server"}),
        ("ntfs-3g", {"ntfs-metadata", "fuse-server"}),
    ],
)
def test_identified_fuse_drivers_proceed(
    medium: MakeMedium, cli_home: Path, kind: str, notes: set[str]
) -> None:
    # None of these servers has RENAME_NOREPLACE (EINVAL): names are still scrubbed.
    proceeds_with_nothing_left(medium(kind), cli_home, notes, "large", "middle", "tiny")
