"""System facts: which disks hold /, /boot, swap and the home; read, never written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from expunge.drives import find_drive, interlock_reasons, list_drives, system_facts


def devnum_of(path: Path) -> str:
    dev = os.stat(path).st_dev
    return f"{os.major(dev)}:{os.minor(dev)}"


def fake_sys(root: Path, devnum: str) -> Path:
    """A sysfs where ``devnum`` is dm-0, stacked on partition sdz2 of disk sdz."""
    sdz2 = root / "devices/pci/host/block/sdz/sdz2"
    sdz2.mkdir(parents=True)
    (sdz2 / "partition").write_text("2\n")
    dm0 = root / "devices/virtual/block/dm-0"
    (dm0 / "slaves").mkdir(parents=True)
    (dm0 / "slaves/sdz2").symlink_to(sdz2)
    (root / "dev/block").mkdir(parents=True)
    (root / "dev/block" / devnum).symlink_to(dm0)
    return root


def test_stacked_devices_resolve_to_every_disk_underneath(tmp_path: Path) -> None:
    # The home's filesystem sits on dm-0 over sdz2: both dm-0 and the disk sdz hold it.
    home = tmp_path / "home" / "not-yet-created"
    devnum = devnum_of(tmp_path)
    sys_root = fake_sys(tmp_path / "sys", devnum)
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(f"30 1 {devnum} / /srv rw - ext4 /dev/dm-0 rw\n")
    swaps = tmp_path / "swaps"
    swapfile = tmp_path / "swap file"
    swapfile.write_bytes(b"")
    swaps.write_text(
        "Filename Type Size Used Priority\n"
        f"{str(swapfile).replace(' ', chr(92) + '040')} file 1024 0 -2\n"
    )
    facts = system_facts(home, mountinfo=mountinfo, swaps=swaps, sys_root=sys_root)
    assert facts.home_disks == {"dm-0", "sdz"}
    assert facts.swap_disks == {"dm-0", "sdz"}
    assert facts.mounted == {devnum}


def test_a_mount_point_of_any_bytes_does_not_stop_the_reading(tmp_path: Path) -> None:
    # Another program mounted something at a Latin-1 name while a station looked.
    devnum = devnum_of(tmp_path)
    sys_root = fake_sys(tmp_path / "sys", devnum)
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_bytes(
        b"29 1 7:99 / /mnt/caf\xe9 rw - vfat /dev/loop99 rw\n"
        + f"30 1 {devnum} / /srv rw - ext4 /dev/dm-0 rw\n".encode()
    )
    swaps = tmp_path / "swaps"
    swaps.write_bytes(b"Filename Type Size Used Priority\n/swap\xe9 file 1024 0 -2\n")
    facts = system_facts(tmp_path / "home", mountinfo=mountinfo, swaps=swaps, sys_root=sys_root)
    assert facts.home_disks == {"dm-0", "sdz"}
    assert facts.mounted == {devnum, "7:99"}


def test_unknown_devices_resolve_to_nothing(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("")
    swaps = tmp_path / "swaps"
    swaps.write_text("Filename Type Size Used Priority\n")
    empty_sys = tmp_path / "sys"
    empty_sys.mkdir()
    facts = system_facts(tmp_path, mountinfo=mountinfo, swaps=swaps, sys_root=empty_sys)
    assert facts.root_disks == facts.home_disks == facts.swap_disks == frozenset()


def test_the_real_system_disk_is_refused_even_with_every_flag(tmp_path: Path) -> None:
    facts = system_facts(tmp_path)
    if not facts.root_disks:
        pytest.skip("/ is not on a block device here (overlay, tmpfs or network root)")
    roots = [d for d in list_drives(include_all=True) if d.name in facts.root_disks]
    assert roots, f"the disk holding / ({sorted(facts.root_disks)}) is not listed"
    for drive in roots:
        reasons = interlock_reasons(drive, facts, allow_fixed=True, include_virtual=True)
        assert "system-root" in [r.code for r in reasons]
        assert drive.size > 0
        assert find_drive(drive.node) == drive
