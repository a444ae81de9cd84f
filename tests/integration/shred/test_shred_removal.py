"""The removal phase is checked before the first byte is written, and every failure in it
is one typed error saying what was done.

Cases a user without some privilege meets are run with those capabilities dropped from
the CLI process (``prctl(PR_CAPBSET_DROP)`` before it starts): root without
CAP_DAC_OVERRIDE is held to file modes, without CAP_FOWNER to sticky folders, without
CAP_LEASE to leases on its own files only.
"""

from __future__ import annotations

import ctypes
import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from expunge.core.errors import EXIT_REFUSED, EXIT_TARGET
from expunge.shred import files, libc, removal
from tests.support import Result, need_tool, needs_root, run_cli
from tests.support.records import one_line_error

pytestmark = [needs_root, pytest.mark.root]

SECRET = b"TOP SECRET removal canary\n" * 100
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_LEASE = 1, 2, 3, 28
_PR_CAPBSET_DROP = 24
_LIBC = ctypes.CDLL(None, use_errno=True)


def without(*caps: int) -> Callable[[], None]:
    """A ``preexec_fn`` dropping ``caps`` from the child before it runs expunge."""

    def drop() -> None:
        for cap in caps:
            if _LIBC.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0):
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return drop


def one_line(result: Result, code: int, *needles: str) -> None:
    """One line on stderr, with its exit code, saying each of ``needles``."""
    line = one_line_error(result, code)
    assert all(needle in line for needle in needles), (needles, line)


@pytest.fixture
def home(cli_home: Path) -> Path:
    """A home whose station key exists, so that stderr holds only the line under test."""
    assert run_cli("key", "init", home=cli_home).code == 0
    return cli_home


@pytest.fixture
def chattr(tmp_path: Path) -> Iterator[Callable[[str, Path], None]]:
    """``chattr(flags, path)``, undone in teardown so that tmp_path can be removed."""
    tool = need_tool("chattr")
    changed: list[Path] = []

    def apply(flags: str, path: Path) -> None:
        subprocess.run([tool, flags, str(path)], check=True)
        changed.append(path)

    yield apply
    for path in changed:
        subprocess.run([tool, "-i", "-a", str(path)], check=False)


@pytest.mark.parametrize(("flag", "what"), [("+i", "immutable"), ("+a", "append-only")])
def test_a_file_in_a_folder_whose_names_cannot_be_removed_is_refused_unwritten(
    tmp_path: Path, home: Path, chattr: Callable[[str, Path], None], flag: str, what: str
) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    doc = folder / "doc.txt"
    doc.write_bytes(SECRET)
    chattr(flag, folder)
    refused = run_cli("shred", doc, home=home)
    one_line(refused, EXIT_TARGET, str(doc), f"{what} (chattr {flag})", "--keep")
    assert doc.read_bytes() == SECRET
    kept = run_cli("shred", "--keep", "--verify", "none", doc, home=home)
    assert kept.code == 0, kept.err
    assert doc.exists() and doc.read_bytes() != SECRET


def test_a_write_only_file_is_refused_before_it_is_overwritten(tmp_path: Path, home: Path) -> None:
    doc = tmp_path / "write-only.txt"
    doc.write_bytes(SECRET)
    doc.chmod(0o200)
    result = run_cli(
        "shred", doc, home=home, preexec_fn=without(CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH)
    )
    one_line(result, EXIT_TARGET, str(doc), "not read", "chmod u+r")
    assert doc.read_bytes() == SECRET


def test_another_users_file_in_a_sticky_folder_is_refused(tmp_path: Path, home: Path) -> None:
    folder = tmp_path / "sticky"
    folder.mkdir()
    os.chown(folder, 65534, 65534)
    folder.chmod(0o1777)
    doc = folder / "theirs.txt"
    doc.write_bytes(SECRET)
    os.chown(doc, 65533, 65533)
    doc.chmod(0o666)
    result = run_cli("shred", doc, home=home, preexec_fn=without(CAP_DAC_OVERRIDE, CAP_FOWNER))
    one_line(result, EXIT_TARGET, str(doc), "sticky", "uid 65533")
    assert doc.read_bytes() == SECRET


def test_an_inconclusive_open_file_probe_means_it_may_be_open(tmp_path: Path, home: Path) -> None:
    # Without CAP_LEASE the lease probe is refused (EACCES) for a file of another user:
    # it cannot tell whether another process has the file open.
    doc = tmp_path / "theirs.txt"
    doc.write_bytes(SECRET)
    os.chown(doc, 65534, 65534)
    doc.chmod(0o666)
    refused = run_cli("shred", doc, home=home, preexec_fn=without(CAP_LEASE))
    one_line(refused, EXIT_REFUSED, str(doc), "may be open", "CAP_LEASE", "--force")
    assert doc.read_bytes() == SECRET
    forced = run_cli("shred", "--force", doc, home=home, preexec_fn=without(CAP_LEASE))
    assert forced.code == 0, forced.err
    assert not doc.exists()


def test_a_removal_that_fails_after_the_overwrite_says_what_was_done(
    tmp_path: Path, chattr: Callable[[str, Path], None]
) -> None:
    folder = tmp_path / "later-locked"
    folder.mkdir()
    doc = folder / "doc.txt"
    doc.write_bytes(SECRET)
    with files.open_file(str(doc), files.FileOptions()) as opened:
        chattr("+i", folder)  # after every check: only the removal phase can meet it
        with pytest.raises(removal.RemovalError) as failed:
            files.remove_file(opened)
    error = failed.value
    assert error.exit_code == EXIT_TARGET
    assert error.done == ("truncated to 0 bytes",) and error.name == "doc.txt"
    assert error.diagnostics().startswith(f"{doc}: rename failed")
    assert "still there as doc.txt" in error.diagnostics()
    assert doc.stat().st_size == 0


def test_without_rename_noreplace_an_existing_name_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A test double for the FUSE servers here: renameat2(RENAME_NOREPLACE) is EINVAL.
    def no_noreplace(*args: object) -> None:
        raise OSError(errno.EINVAL, "RENAME_NOREPLACE unsupported (test double)")

    monkeypatch.setattr(libc, "renameat2", no_noreplace)
    (tmp_path / "old").write_bytes(b"old")
    (tmp_path / "taken").write_bytes(b"someone else's")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(FileExistsError):
            removal.rename_noreplace(fd, "old", "taken")
        assert (tmp_path / "taken").read_bytes() == b"someone else's"
        removal.rename_noreplace(fd, "old", "free")
    finally:
        os.close(fd)
    assert (tmp_path / "free").read_bytes() == b"old" and not (tmp_path / "old").exists()
