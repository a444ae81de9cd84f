"""A loop device stacked on another (or on a partition) holds what is under it: the lower
device is in use, whatever sysfs ``holders`` says (loop devices leave it empty).

Only loop devices these tests attach, on images under tmp_path; nothing is written to any
device: the tests check what is found and what is refused.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from expunge.drives import (
    DriveRefused,
    Identity,
    find_drive,
    interlock_reasons,
    list_drives,
    open_for_wipe,
    system_facts,
)
from tests.support.drives import Loops, needs_root, write_image, write_mbr

pytestmark = [needs_root, pytest.mark.root]

MIB = 2**20


def digest(image: Path) -> str:
    return hashlib.sha256(image.read_bytes()).hexdigest()


def test_a_loop_stacked_on_a_loop_holds_it_recursively(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "lower.img"
    write_image(image, 16 * MIB)
    lower = loops.attach(image)
    upper = loops.attach(Path(lower), offset=MIB)
    top = loops.attach(Path(upper))
    subprocess.run(["mkfs.ext4", "-q", upper], check=True)
    mnt = tmp_path / "mnt"
    loops.mount(upper, mnt)
    home = mnt / "expunge-home"
    home.mkdir()
    before = digest(image)

    drive = find_drive(lower)
    assert drive.holders == (Path(upper).name, Path(top).name)
    facts = system_facts(home)
    assert Path(lower).name in facts.home_disks
    reasons = {r.code: r for r in interlock_reasons(drive, facts, allow_fixed=True)}
    assert {"holders", "expunge-home"} <= set(reasons)
    assert Path(upper).name in reasons["holders"].text and "losetup -d" in reasons["holders"].remedy
    listed = {d.node: d for d in list_drives(include_all=True)}
    assert listed[lower].holders == drive.holders

    with pytest.raises(DriveRefused) as refused:
        open_for_wipe(drive, Identity.from_drive(drive), home=home, allow_fixed=True)
    assert "holders" in {r.code for r in refused.value.reasons}
    assert digest(image) == before


def test_a_loop_on_a_partition_holds_the_disk(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "parted.img"
    write_image(image, 16 * MIB)
    write_mbr(image, [(2048, 16384, 0x83)])
    disk = loops.attach(image, partitions=[(2048, 16384)])
    upper = loops.attach(Path(f"{disk}p1"))

    drive = find_drive(disk)
    assert drive.holders == ()
    assert drive.partitions[0].holders == (Path(upper).name,)
    codes = [r.code for r in interlock_reasons(drive, system_facts(tmp_path), allow_fixed=True)]
    assert codes == ["holders"]
