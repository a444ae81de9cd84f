"""Discovery and opening for a wipe, on loop devices these tests attach themselves.

Nothing here writes to a device: the tests check what is found and what is refused. Every
loop device is backed by an image under tmp_path and detached in teardown.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from expunge.core.errors import EXIT_REFUSED, RefusedError, TargetError
from expunge.drives import (
    DriveRefused,
    Identity,
    find_drive,
    interlock_reasons,
    list_drives,
    open_for_wipe,
    system_facts,
)
from expunge.drives.device import _fd_diskseq
from tests.support.drives import Loops, file_digest, needs_root, write_image, write_mbr

pytestmark = [needs_root, pytest.mark.root]

MIB = 2**20


def sysfs_diskseq(node: str) -> int:
    return int(Path(f"/sys/block/{Path(node).name}/diskseq").read_text())


def first_mib_digest(image: Path) -> str:
    with image.open("rb") as f:
        return hashlib.sha256(f.read(MIB)).hexdigest()


def assert_released(node: str) -> None:
    """Nobody holds ``node`` exclusively any more (the refused open closed its fd)."""
    fd = os.open(node, os.O_RDONLY | os.O_EXCL)
    os.close(fd)


def test_attached_loop_device_is_discovered(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "disk.img"
    write_image(image, 8 * MIB)
    node = loops.attach(image)

    drive = find_drive(node)
    assert drive.node == node
    assert drive.size == 8 * MIB
    assert drive.bus == "virtual"
    assert drive.serial is None
    assert drive.diskseq == sysfs_diskseq(node)
    assert drive.identity_token == f"diskseq:{drive.diskseq}"
    assert drive.logical_block_size == 512
    assert not drive.removable
    assert drive.partitions == ()
    assert drive.mountpoints == drive.holders == ()

    listed = {d.node: d for d in list_drives(include_all=True)}
    assert listed[node] == drive
    assert node not in {d.node for d in list_drives()}

    facts = system_facts(tmp_path)
    assert [r.code for r in interlock_reasons(drive, facts, allow_fixed=False)] == ["virtual"]
    assert interlock_reasons(drive, facts, allow_fixed=False, include_virtual=True) == ()


LAYOUT = [(2048, 16384), (18432, 14336)]  # 8 MiB, then 7 MiB, in 512-byte sectors
TYPES = [0x83, 0x82]  # Linux, Linux swap


def partitioned_image(path: Path) -> None:
    """16 MiB with an MBR: a Linux partition, then a swap partition."""
    write_image(path, 16 * MIB)
    write_mbr(
        path, [(first, count, kind) for (first, count), kind in zip(LAYOUT, TYPES, strict=True)]
    )


def test_partitions_mounts_and_swap_are_found_and_refused(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "parted.img"
    partitioned_image(image)
    node = loops.attach(image, partitions=LAYOUT)
    drive = find_drive(node)
    assert [(p.node, p.size) for p in drive.partitions] == [
        (f"{node}p1", 8 * MIB),
        (f"{node}p2", 7 * MIB),
    ]
    with pytest.raises(TargetError, match=f"partition of {node}"):
        find_drive(f"{node}p1")

    subprocess.run(["mkfs.ext4", "-q", f"{node}p1"], check=True)
    mnt = tmp_path / "mnt point"
    loops.mount(f"{node}p1", mnt)
    loops.swapon(f"{node}p2")
    (mnt / "canary").write_bytes(b"still here")
    os.sync()
    before = first_mib_digest(image)

    drive = find_drive(node)
    assert drive.partitions[0].mountpoints == (str(mnt),)
    assert drive.partitions[1].swap
    reasons = interlock_reasons(drive, system_facts(tmp_path), allow_fixed=True)
    assert [r.code for r in reasons] == ["swap", "mounted"]
    assert str(mnt) in reasons[1].text

    with pytest.raises(RefusedError, match="in use") as refused:
        open_for_wipe(drive, Identity.from_drive(drive), home=tmp_path, include_virtual=True)
    assert refused.value.exit_code == EXIT_REFUSED
    assert refused.value.target == node
    assert (mnt / "canary").read_bytes() == b"still here"
    assert first_mib_digest(image) == before


def test_mounted_whole_disk_is_refused_by_the_kernel_and_left_intact(
    tmp_path: Path, loops: Loops
) -> None:
    image = tmp_path / "fs.img"
    write_image(image, 16 * MIB)
    node = loops.attach(image)
    subprocess.run(["mkfs.ext4", "-q", node], check=True)
    mnt = tmp_path / "mnt"
    loops.mount(node, mnt)
    (mnt / "canary").write_bytes(b"keep me")
    os.sync()

    drive = find_drive(node)
    assert drive.mountpoints == (str(mnt),)
    with pytest.raises(RefusedError, match="unmount") as refused:
        open_for_wipe(drive, Identity.from_drive(drive), home=tmp_path, allow_fixed=True)
    assert not isinstance(refused.value, DriveRefused)  # the kernel said EBUSY first
    assert (mnt / "canary").read_bytes() == b"keep me"


def test_open_for_wipe_holds_the_device_exclusively(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "disk.img"
    write_image(image, 8 * MIB)
    digest = file_digest(image)
    node = loops.attach(image)
    drive = find_drive(node)
    confirmed = Identity.from_drive(drive)

    with open_for_wipe(drive, confirmed, home=tmp_path, include_virtual=True) as device:
        assert device.size == 8 * MIB
        assert device.logical_block_size == 512
        assert device.physical_block_size >= 512
        assert device.diskseq == drive.diskseq
        assert device.direct
        assert device.drive == drive
        assert os.fstat(device.fileno()).st_rdev == os.stat(node).st_rdev
        with pytest.raises(RefusedError, match="in use"):
            open_for_wipe(drive, confirmed, home=tmp_path, include_virtual=True)
        with pytest.raises(OSError) as busy:
            os.open(node, os.O_RDONLY | os.O_EXCL)
        assert busy.value.errno == errno.EBUSY
    assert device.closed
    device.close()
    assert_released(node)
    assert file_digest(image) == digest


def test_interlocks_rerun_after_opening_refuse_and_release(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "disk.img"
    write_image(image, 8 * MIB)
    node = loops.attach(image)
    drive = find_drive(node)
    with pytest.raises(DriveRefused) as refused:
        open_for_wipe(drive, Identity.from_drive(drive), home=tmp_path)
    assert [r.code for r in refused.value.reasons] == ["virtual"]
    assert refused.value.exit_code == EXIT_REFUSED
    assert "--allow-fixed" in refused.value.diagnostics()
    assert_released(node)


def test_read_only_device_is_refused(tmp_path: Path, loops: Loops) -> None:
    # The kernel lets a read-only disk be opened for writing; only the interlock stops it.
    image = tmp_path / "disk.img"
    write_image(image, 4 * MIB)
    digest = file_digest(image)
    node = loops.attach(image, read_only=True)
    drive = find_drive(node)
    assert drive.read_only
    with pytest.raises(DriveRefused) as refused:
        open_for_wipe(drive, Identity.from_drive(drive), home=tmp_path, allow_fixed=True)
    assert [r.code for r in refused.value.reasons] == ["read-only"]
    assert file_digest(image) == digest
    assert_released(node)


def test_diskseq_falls_back_to_sysfs_without_the_ioctl(tmp_path: Path, loops: Loops) -> None:
    # BLKGETDISKSEQ on a regular file fails with ENOTTY, as on kernels before 5.15.
    image = tmp_path / "disk.img"
    write_image(image, 4 * MIB)
    node = loops.attach(image)
    drive = find_drive(node)
    fd = os.open(tmp_path / "disk.img", os.O_RDONLY)
    try:
        assert _fd_diskseq(fd, drive.devnum, Path("/sys")) == sysfs_diskseq(node)
        assert _fd_diskseq(fd, "0:0", Path("/sys")) is None
    finally:
        os.close(fd)


def test_a_different_image_behind_the_same_node_is_refused(tmp_path: Path, loops: Loops) -> None:
    first, second = tmp_path / "first.img", tmp_path / "second.img"
    write_image(first, 8 * MIB, seed=b"first")
    write_image(second, 8 * MIB, seed=b"second")
    node = loops.attach(first)
    drive = find_drive(node)
    confirmed = Identity.from_drive(drive)

    loops.detach(node)
    if not loops.reattach(node, second):
        pytest.skip(f"another process attached {node} between detach and re-attach")
    digest = file_digest(second)
    assert find_drive(node).size == confirmed.size  # same size: only diskseq tells them apart

    with pytest.raises(RefusedError, match=r"not the drive that was confirmed.*diskseq"):
        open_for_wipe(drive, confirmed, home=tmp_path, include_virtual=True)
    assert file_digest(second) == digest
    assert_released(node)


@pytest.mark.parametrize(
    "change",
    [
        {"size": 8 * MIB + 512},
        {"diskseq": 0},
        {"serial": "SOMEONE-ELSE"},
        {"token": "diskseq:0"},
    ],
    ids=["size", "diskseq", "serial", "token"],
)
def test_any_identity_difference_is_refused(
    tmp_path: Path, loops: Loops, change: dict[str, object]
) -> None:
    image = tmp_path / "disk.img"
    write_image(image, 8 * MIB)
    node = loops.attach(image)
    drive = find_drive(node)
    confirmed = dataclasses.replace(Identity.from_drive(drive), **change)  # type: ignore[arg-type]
    with pytest.raises(RefusedError, match="not the drive that was confirmed"):
        open_for_wipe(drive, confirmed, home=tmp_path, include_virtual=True)
    assert_released(node)


def test_identity_of_another_node_is_refused_before_opening(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "disk.img"
    write_image(image, 8 * MIB)
    node = loops.attach(image)
    drive = find_drive(node)
    other = dataclasses.replace(Identity.from_drive(drive), node="/dev/loop999")
    with pytest.raises(RefusedError, match="confirmed as /dev/loop999"):
        open_for_wipe(drive, other, home=tmp_path, include_virtual=True)


def test_find_drive_rejects_what_is_not_a_disk(tmp_path: Path) -> None:
    plain = tmp_path / "file"
    plain.write_bytes(b"x")
    with pytest.raises(TargetError, match="not a block device"):
        find_drive(plain)
    with pytest.raises(TargetError, match="cannot find"):
        find_drive(tmp_path / "missing")
