"""Filesystem facts read the way the kernel applies them, and libc loaded once."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from expunge.shred import ext4, files, fsinfo, fuse, libc, mounts
from expunge.shred.mounts import MountFacts
from tests.support import need_tool, needs_root


def ext4_image(tmp_path: Path, *tune: str) -> Path:
    image = tmp_path / "fs.img"
    with open(image, "wb") as f:
        f.truncate(16 << 20)
    subprocess.run([need_tool("mkfs.ext4"), "-q", str(image)], check=True)
    if tune:
        subprocess.run([need_tool("tune2fs"), *tune, str(image)], check=True, capture_output=True)
    return image


@pytest.mark.parametrize(
    ("tune", "mode"),
    [
        ((), "ordered"),
        (("-o", "journal_data"), "journal"),
        (("-o", "journal_data_writeback"), "writeback"),
    ],
)
def test_the_superblock_default_data_mode_is_read(
    tmp_path: Path, tune: tuple[str, ...], mode: str
) -> None:
    assert ext4.superblock_data_mode(str(ext4_image(tmp_path, *tune))) == mode


def test_a_device_without_an_ext4_superblock_has_no_data_mode(tmp_path: Path) -> None:
    other = tmp_path / "zeros.img"
    other.write_bytes(bytes(4096))
    assert ext4.superblock_data_mode(str(other)) is None
    assert ext4.superblock_data_mode(str(tmp_path / "missing")) is None


def test_the_kernels_options_file_decides(tmp_path: Path) -> None:
    # The format of /proc/fs/ext4/<dev>/options: one option a line, data= only when it is
    # not the default.
    (tmp_path / "loop7").mkdir()
    (tmp_path / "loop7" / "options").write_text("rw\nbarrier\ndata=journal\ncommit=5\n")
    (tmp_path / "vda").mkdir()
    (tmp_path / "vda" / "options").write_text("rw\nbarrier\ncommit=5\n")
    assert ext4.proc_data_mode("loop7", tmp_path) == "journal"
    assert ext4.proc_data_mode("vda", tmp_path) == "ordered"
    assert ext4.proc_data_mode("sdz1", tmp_path) is None


def test_without_the_kernels_view_a_mount_option_overrides_the_superblock(
    tmp_path: Path,
) -> None:
    image = ext4_image(tmp_path, "-o", "journal_data")
    mount = MountFacts(1, "/mnt", "ext4", frozenset({"rw", "data=ordered"}), str(image))
    nowhere = tmp_path / "no-proc"
    assert ext4.data_mode(os.makedev(7, 250), mount, proc_ext4=nowhere) == "ordered"
    plain = MountFacts(1, "/mnt", "ext4", frozenset({"rw"}), str(image))
    assert ext4.data_mode(os.makedev(7, 250), plain, proc_ext4=nowhere) == "journal"


def test_a_fuse_server_is_named_by_its_subtype_or_not_at_all(tmp_path: Path) -> None:
    named = MountFacts(1, "/mnt", "fuse.fusefat", frozenset(), "fusefat")
    assert fuse.server_program(named) == "fusefat"
    nameless = MountFacts(2, "/mnt", "fuseblk", frozenset(), str(tmp_path / "gone"))
    assert fuse.server_program(nameless) is None


def test_libc_is_looked_up_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str | None] = []
    real = ctypes.CDLL

    def counting(name: str | None, *args: Any, **kwargs: Any) -> ctypes.CDLL:
        calls.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(libc.ctypes, "CDLL", counting)
    libc.libc.cache_clear()
    doc = tmp_path / "doc.txt"
    doc.write_bytes(b"x" * 100)
    fd = os.open(doc, os.O_RDONLY)
    try:
        for _ in range(50):
            fsinfo.filesystem_type(fd)
            fsinfo.mount_id(fd)
    finally:
        os.close(fd)
    for _ in range(5):
        files.open_file(str(doc), files.FileOptions()).close()
    # The process's own symbols (None): no library search, no ldconfig.
    assert calls == [None]


def test_a_tree_of_many_files_starts_no_helper_processes(tmp_path: Path, cli_home: Path) -> None:
    # find_library("c") runs ldconfig (and gcc) in a subprocess: once per file it made
    # thousands of processes for a tree of a few hundred files.
    strace = need_tool("strace")
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(60):
        (tree / f"f{i}.txt").write_bytes(b"data\n" * 10)
    log = tmp_path / "strace.log"
    env = {**os.environ, "EXPUNGE_HOME": str(cli_home)}
    command = [sys.executable, "-m", "expunge", "shred", "-r", "--verify", "none", str(tree)]
    subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=execve", "-o", str(log), *command],
        check=True,
        env=env,
        capture_output=True,
    )
    execs = [line for line in log.read_text().splitlines() if "execve(" in line]
    assert not tree.exists()
    assert len(execs) < 10, execs[:20]


def test_a_file_of_a_tree_makes_no_journal_file_and_few_syncs(
    tmp_path: Path, cli_home: Path
) -> None:
    # Each file's wipe journal lives in the run's log (destroy.logged_journal): no journal
    # file is created per file, and a file costs its log lines, its pass, its truncation,
    # the renames of its name and the unlink in syncs (it took 14 with journal files).
    strace = need_tool("strace")
    tree = tmp_path / "tree"
    tree.mkdir()
    files = 40
    for i in range(files):
        (tree / f"f{i:02d}").write_bytes(os.urandom(4096))
    log = tmp_path / "strace.log"
    env = {**os.environ, "EXPUNGE_HOME": str(cli_home)}
    command = [sys.executable, "-m", "expunge", "shred", "-r", "-q", str(tree)]
    trace = "trace=openat,fsync,fdatasync"
    subprocess.run(
        [strace, "-f", "-qq", "-e", trace, "-o", str(log), *command],
        check=True,
        env=env,
        capture_output=True,
    )
    lines = log.read_text().splitlines()
    assert not tree.exists()
    journal = str(cli_home / "journal")
    assert [line for line in lines if "O_CREAT" in line and journal in line] == []
    syncs = [line for line in lines if "fsync(" in line or "fdatasync(" in line]
    # Names of three characters: three renames, each synced.
    assert len(syncs) <= 10 * files, len(syncs) / files


@needs_root
def test_the_kept_mount_table_follows_every_change(tmp_path: Path) -> None:
    point = tmp_path / "mnt"
    point.mkdir()

    def options_at_point() -> frozenset[str] | None:
        found = [m for m in mounts.read_mounts() if m.mount_point == str(point)]
        return found[-1].options if found else None

    assert options_at_point() is None
    assert mounts.read_mounts() is mounts.read_mounts()  # unchanged: not parsed again
    before = mounts.generation()
    assert mounts.generation() == before
    tmpfs = ["mount", "-t", "tmpfs", "-o", "size=1m", "expunge-test", str(point)]
    subprocess.run(tmpfs, check=True)
    try:
        assert "rw" in (options_at_point() or ())
        # Facts kept per filesystem (data mode, medium) are read again after any change.
        assert mounts.generation() != before
        subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)
        assert "ro" in (options_at_point() or ())
        fd = os.open(point, os.O_RDONLY | os.O_DIRECTORY)
        try:
            mount = fsinfo.mount_of_fd(fd)
        finally:
            os.close(fd)
        assert mount is not None and mount.source == "expunge-test"
    finally:
        subprocess.run(["umount", str(point)], check=True)
    assert options_at_point() is None


def test_another_mount_table_is_read_as_it_is(tmp_path: Path) -> None:
    table = tmp_path / "mountinfo"
    table.write_text("30 1 8:1 / /srv\\040data rw - ext4 /dev/sda1 rw,data=journal\n")
    (only,) = mounts.read_mounts(table)
    assert only.mount_point == "/srv data" and "data=journal" in only.options
    table.write_text("")
    assert mounts.read_mounts(table) == ()
