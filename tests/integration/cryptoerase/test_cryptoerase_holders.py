"""An open LUKS volume is refused before any write.

``open_holders`` decides from facts (tested with facts given here), ``read_block_uses``
reads them from sysfs (tested on a sysfs-shaped folder and on the real system with a loop
device of ours), and a real ``cryptsetup open`` is refused where device-mapper exists.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from expunge.core.errors import EXIT_REFUSED, RefusedError
from expunge.shred import luks
from expunge.shred.luks import BlockUse, VolumeKey, open_holders
from tests.support import attach_loop, detach_loop, need_tool, needs_root
from tests.support.cryptoerase import (
    cryptsetup,
    luks_format,
    make_container,
    make_keyfile,
    opened,
    sha256_range,
)

SDB = os.makedev(8, 16)
SDB1 = os.makedev(8, 17)
LOOP3 = os.makedev(7, 3)
LOOP3P1 = os.makedev(259, 0)
CONTAINER = VolumeKey("file", dev=2049, ino=4242)


def test_a_held_block_device_is_open() -> None:
    uses = [BlockUse("sdb", SDB, ("dm-0",))]
    assert open_holders(VolumeKey("block", SDB), uses) == ("dm-0",)


def test_a_disk_whose_partition_is_held_is_open() -> None:
    uses = [BlockUse("sdb", SDB), BlockUse("sdb1", SDB1, ("dm-2",), parent=SDB)]
    assert open_holders(VolumeKey("block", SDB), uses) == ("dm-2",)
    assert open_holders(VolumeKey("block", SDB1), uses) == ("dm-2",)


def test_a_block_device_behind_a_held_loop_device_is_open() -> None:
    uses = [
        BlockUse("sdb", SDB),
        BlockUse("loop3", LOOP3, ("dm-5",), backing=VolumeKey("block", SDB)),
    ]
    assert open_holders(VolumeKey("block", SDB), uses) == ("loop3 -> dm-5",)


def test_a_free_block_device_is_not_open() -> None:
    uses = [BlockUse("sdb", SDB), BlockUse("sdc", os.makedev(8, 32), ("dm-1",))]
    assert open_holders(VolumeKey("block", SDB), uses) == ()


def test_a_container_behind_a_held_loop_device_is_open() -> None:
    uses = [
        BlockUse("loop3", LOOP3, ("dm-5",), backing=CONTAINER),
        BlockUse("loop4", os.makedev(7, 4), ("dm-6",), backing=VolumeKey("file", CONTAINER.dev, 1)),
    ]
    assert open_holders(CONTAINER, uses) == ("loop3 -> dm-5",)


def test_a_container_behind_a_loop_partition_that_is_held_is_open() -> None:
    uses = [
        BlockUse("loop3", LOOP3, backing=CONTAINER),
        BlockUse("loop3p1", LOOP3P1, ("dm-1",), parent=LOOP3),
    ]
    assert open_holders(CONTAINER, uses) == ("loop3p1 -> dm-1",)


def test_a_container_attached_but_not_opened_is_free() -> None:
    uses = [BlockUse("loop3", LOOP3, backing=CONTAINER)]
    assert open_holders(CONTAINER, uses) == ()


def fake_sysfs(root: Path, backing: Path) -> Path:
    """/sys/class/block with loop7 (backed by ``backing``, held by dm-3) and loop7p1."""
    devices = root / "devices" / "virtual" / "block" / "loop7"
    (devices / "holders" / "dm-3").mkdir(parents=True)
    (devices / "dev").write_text("7:7\n")
    (devices / "loop").mkdir()
    (devices / "loop" / "backing_file").write_text(f"{backing}\n")
    partition = devices / "loop7p1"
    (partition / "holders").mkdir(parents=True)
    (partition / "dev").write_text("259:9\n")
    (partition / "partition").write_text("1\n")
    classes = root / "class" / "block"
    classes.mkdir(parents=True)
    (classes / "loop7").symlink_to(devices)
    (classes / "loop7p1").symlink_to(partition)
    return root


def test_read_block_uses_reads_holders_backing_files_and_partitions(tmp_path: Path) -> None:
    container = make_container(tmp_path, 1 << 20)
    st = container.stat()
    uses = luks.read_block_uses(fake_sysfs(tmp_path / "sys", container))
    assert uses == (
        BlockUse("loop7", os.makedev(7, 7), ("dm-3",), None, VolumeKey.from_stat(st)),
        BlockUse("loop7p1", os.makedev(259, 9), (), os.makedev(7, 7), None),
    )


def test_refuse_if_open_names_the_holder_and_writes_nothing(tmp_path: Path) -> None:
    container = make_container(tmp_path, 1 << 20)
    sys_root = fake_sysfs(tmp_path / "sys", container)
    before = sha256_range(container, 0, 1 << 20)
    with opened(container) as fd, pytest.raises(RefusedError) as caught:
        luks.refuse_if_open(fd, name=str(container), sys_root=sys_root)
    assert caught.value.exit_code == EXIT_REFUSED
    line = caught.value.diagnostics()
    assert line.startswith(f"{container}: is an open volume (held by loop7 -> dm-3)")
    assert "cryptsetup close" in line
    assert sha256_range(container, 0, 1 << 20) == before


@needs_root
def test_the_real_system_shows_our_loop_device_over_our_container(tmp_path: Path) -> None:
    container = make_container(tmp_path, 4 << 20)
    st = container.stat()
    node = attach_loop(container)
    try:
        uses = luks.read_block_uses()
        mine = [u for u in uses if u.name == Path(node).name]
        assert mine == [
            BlockUse(Path(node).name, os.stat(node).st_rdev, (), None, VolumeKey.from_stat(st))
        ]
        with opened(container) as fd:
            luks.refuse_if_open(fd, name=str(container))  # attached, but nobody holds it
        with opened(node) as fd:
            luks.refuse_if_open(fd, name=node)
    finally:
        detach_loop(node)


@pytest.fixture
def open_volume(loop_device: tuple[str, Path], tmp_path: Path) -> Iterator[str]:
    """A LUKS2 volume on our loop device, opened with ``cryptsetup open``; closed after."""
    need_tool("cryptsetup")
    node, _backing = loop_device
    keyfile = make_keyfile(tmp_path)
    luks_format(node, keyfile, 2)
    name = f"expunge-test-{os.getpid()}-{tmp_path.name}"[:100]
    result = cryptsetup("open", "--key-file", keyfile, node, name)
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[0] if result.stderr.strip() else "no reason"
        pytest.skip(f"cryptsetup open is not available in this sandbox: {reason}")
    try:
        yield node
    finally:
        cryptsetup("close", name)
        subprocess.run(["udevadm", "settle"], check=False, capture_output=True)


def test_an_open_volume_is_refused_before_any_write(open_volume: str) -> None:
    node = open_volume
    before = sha256_range(node, 0, 16 << 20)
    with opened(node) as fd:
        layout = luks.read_layout(fd, name=node)
        assert layout.version == 2
        with pytest.raises(RefusedError, match=r"is an open volume \(held by dm-"):
            luks.refuse_if_open(fd, name=node)
    assert sha256_range(node, 0, 16 << 20) == before
