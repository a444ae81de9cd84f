"""Named paths are resolved from the root down without following any link, and the
certificate names the object actually opened."""

from __future__ import annotations

import ctypes
import errno
import os
import random
import threading
import time
from pathlib import Path

import pytest

from expunge.core.errors import EXIT_REFUSED, EXIT_TARGET, RefusedError
from expunge.shred import files, libc, resolve
from tests.support import run_cli
from tests.support.resume import certificates

REAL = b"real file, named by the user\n" * 50
SENTINEL = b"sentinel: never named, must survive\n" * 50
RENAME_EXCHANGE = 2
_LIBC = ctypes.CDLL(None, use_errno=True)


def exchange(folder: Path, a: str, b: str) -> None:
    """Swap two names atomically (``renameat2(RENAME_EXCHANGE)``)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _LIBC.renameat2(fd, a.encode(), fd, b.encode(), RENAME_EXCHANGE):
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)


def test_a_symlinked_parent_folder_is_refused_naming_the_real_path(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "doc.txt").write_bytes(REAL)
    (tmp_path / "via").symlink_to(real)
    with pytest.raises(RefusedError) as refused:
        files.open_file(str(tmp_path / "via" / "doc.txt"), files.FileOptions())
    line = refused.value.diagnostics()
    assert f"the folder {tmp_path / 'via'} on the way is a symbolic link" in line
    assert str(real / "doc.txt") in line
    assert (real / "doc.txt").read_bytes() == REAL


def test_without_openat2_the_step_by_step_walk_refuses_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A test double for a kernel older than 5.6 (or a seccomp filter): openat2 is ENOSYS.
    def no_openat2(*args: object) -> int:
        raise OSError(errno.ENOSYS, "openat2 unavailable (test double)")

    monkeypatch.setattr(libc, "openat2", no_openat2)
    real = tmp_path / "a" / "b"
    real.mkdir(parents=True)
    (real / "doc.txt").write_bytes(REAL)
    (tmp_path / "link").symlink_to(tmp_path / "a")
    with pytest.raises(RefusedError, match="on the way is a symbolic link"):
        resolve.open_dir(str(tmp_path / "link" / "b"))
    fd = resolve.open_dir(str(real))
    try:
        assert resolve.real_path(fd, "doc.txt") == str(real / "doc.txt")
        assert os.stat("doc.txt", dir_fd=fd).st_ino == (real / "doc.txt").stat().st_ino
    finally:
        os.close(fd)


def test_the_certificate_names_the_real_path(tmp_path: Path, cli_home: Path) -> None:
    (tmp_path / "docs").mkdir()
    doc = tmp_path / "docs" / "doc.txt"
    doc.write_bytes(REAL)
    given = "../docs/./doc.txt"
    result = run_cli("shred", "--verify", "none", given, home=cli_home, cwd=tmp_path / "docs")
    assert result.code == 0, result.err
    (cert,) = certificates(cli_home)
    assert [s["subject"]["path"] for s in cert["subjects"]] == [str(doc)]


def test_a_parent_folder_swapped_for_a_symlink_during_the_run_never_redirects(
    tmp_path: Path, cli_home: Path
) -> None:
    """The attack: while shred runs over many files of ``base/dir``, ``dir`` is swapped,
    again and again, with a symlink to a sentinel folder holding files of the same names."""
    base, sentinel = tmp_path / "base", tmp_path / "sentinel"
    names = [f"x{i:02}.txt" for i in range(20)]
    (base / "dir").mkdir(parents=True)
    sentinel.mkdir()
    for name in names:
        (sentinel / name).write_bytes(SENTINEL)
    (base / "alt").symlink_to(sentinel)
    chance = random.Random(2)

    def shred_under_swaps(hold: float) -> tuple[int, int]:
        """One shred of every name while the folder is swapped every ``hold`` seconds or
        so (never, with 0); its exit code and how many certificates it issued."""
        real = base / ("alt" if (base / "dir").is_symlink() else "dir")
        for name in names:
            (real / name).write_bytes(REAL)
        issued = len(certificates(cli_home))
        stop = threading.Event()

        def swap() -> None:
            while hold and not stop.is_set():
                exchange(base, "dir", "alt")
                stop.wait(chance.uniform(0.02, 1.0) * hold)

        swapper = threading.Thread(target=swap)
        swapper.start()
        try:
            paths = [base / "dir" / name for name in names]
            result = run_cli("shred", "--verify", "none", *paths, home=cli_home)
        finally:
            stop.set()
            swapper.join()
        assert result.code in (0, EXIT_REFUSED, EXIT_TARGET), result.err
        assert result.code != EXIT_REFUSED or "symbolic link" in result.err, result.err
        return result.code, len(certificates(cli_home)) - issued

    # Swaps on the time scale of a run on this machine now, whatever its load: some runs
    # pass their checks in one state of the folder and write while it is swapped.
    started = time.monotonic()
    assert shred_under_swaps(0) == (0, 20)
    duration = time.monotonic() - started
    attacked = [shred_under_swaps(duration / 2) for _ in range(3)]
    while sum(issued > 0 for _, issued in attacked) < 2:
        assert len(attacked) < 30, attacked
        attacked.append(shred_under_swaps(duration / 2))
    assert all((sentinel / name).read_bytes() == SENTINEL for name in names)
    # Whatever was destroyed was the real folder's file, certified under the real folder's
    # name at that moment (it is swapped between "dir" and "alt").
    subjects = [s["subject"] for c in certificates(cli_home) for s in c["subjects"]]
    assert {Path(s["path"]).parent for s in subjects} <= {base / "dir", base / "alt"}
