"""The interlocks as a pure function: drive facts and system facts in, reasons out."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from expunge.drives import (
    Drive,
    Identity,
    SystemFacts,
    confirm_token_matches,
    interlock_reasons,
    parse_mountinfo,
    parse_swaps,
)
from tests.support.drives import make_drive, make_partition

NOTHING = SystemFacts()


def codes(drive: Drive, system: SystemFacts = NOTHING, **flags: bool) -> list[str]:
    flags.setdefault("allow_fixed", False)
    return [r.code for r in interlock_reasons(drive, system, **flags)]


def test_a_plain_usb_stick_may_be_wiped() -> None:
    assert codes(make_drive()) == []


def test_the_system_disk_is_refused_whatever_the_flags() -> None:
    # A fake system disk: fixed SATA disk, / on sda2, /boot on sda1, swap on sda3.
    system_disk = make_drive(
        node="/dev/sda",
        name="sda",
        devnum="8:0",
        bus="ata",
        removable=False,
        serial="WD-SYSTEM",
        partitions=(
            make_partition(1, node="/dev/sda1", name="sda1", devnum="8:1", mountpoints=("/boot",)),
            make_partition(2, node="/dev/sda2", name="sda2", devnum="8:2", mountpoints=("/",)),
            make_partition(3, node="/dev/sda3", name="sda3", devnum="8:3", swap=True),
        ),
    )
    system = SystemFacts(
        root_disks=frozenset({"sda"}),
        boot_disks=frozenset({"sda"}),
        swap_disks=frozenset({"sda"}),
        home_disks=frozenset({"sda"}),
        mounted=frozenset({"8:1", "8:2"}),
    )
    everything = codes(system_disk, system, allow_fixed=True, include_virtual=True)
    assert everything == ["system-root", "system-boot", "swap", "expunge-home", "mounted"]
    assert codes(system_disk, system)[-1] == "fixed"


def test_root_alone_is_enough_to_refuse() -> None:
    # / on dm-crypt over this stick: the disk shows no mount of its own.
    system = SystemFacts(root_disks=frozenset({"sdx", "dm-0"}))
    assert codes(make_drive(), system, allow_fixed=True) == ["system-root"]


def test_boot_disk_is_refused() -> None:
    assert codes(make_drive(), SystemFacts(boot_disks=frozenset({"sdx"}))) == ["system-boot"]


def test_active_swap_is_refused_on_disk_partition_or_by_system_facts() -> None:
    assert codes(make_drive(swap=True)) == ["swap"]
    assert codes(make_drive(partitions=(make_partition(1, swap=True),))) == ["swap"]
    assert codes(make_drive(), SystemFacts(swap_disks=frozenset({"sdx"}))) == ["swap"]


def test_expunge_home_disk_is_refused() -> None:
    assert codes(make_drive(), SystemFacts(home_disks=frozenset({"sdx"}))) == ["expunge-home"]


def test_mounted_disk_or_partition_is_refused_and_named() -> None:
    assert codes(make_drive(mountpoints=("/media/stick",))) == ["mounted"]
    part = make_partition(2, mountpoints=("/media/my stick",))
    drive = make_drive(partitions=(make_partition(1), part))
    (reason,) = interlock_reasons(drive, NOTHING, allow_fixed=False)
    assert reason.code == "mounted"
    assert "/media/my stick" in reason.text
    assert "unmount" in reason.remedy


def test_mount_known_only_to_the_system_facts_is_refused() -> None:
    # A partition mounted after the drive facts were read.
    drive = make_drive(partitions=(make_partition(1),))
    assert codes(drive, SystemFacts(mounted=frozenset({"8:97"}))) == ["mounted"]
    assert codes(drive, SystemFacts(mounted=frozenset({"8:200"}))) == []


def test_holders_on_disk_or_partition_are_refused() -> None:
    assert codes(make_drive(holders=("md0",))) == ["holders"]
    drive = make_drive(partitions=(make_partition(1, holders=("dm-3",)),))
    (reason,) = interlock_reasons(drive, NOTHING, allow_fixed=True)
    assert reason.code == "holders"
    assert "dm-3" in reason.text


def test_read_only_and_empty_media_are_refused() -> None:
    assert codes(make_drive(read_only=True)) == ["read-only"]
    assert codes(make_drive(size=0)) == ["no-medium"]


def test_fixed_disk_needs_allow_fixed() -> None:
    fixed = make_drive(bus="nvme", removable=False)
    assert codes(fixed) == ["fixed"]
    assert codes(fixed, allow_fixed=True) == []
    assert codes(fixed, include_virtual=True) == ["fixed"]


def test_usb_disk_without_removable_flag_counts_as_removable() -> None:
    assert codes(make_drive(removable=False)) == []


def test_virtual_disk_needs_include_virtual_or_allow_fixed() -> None:
    loop = make_drive(node="/dev/loop3", name="loop3", bus="virtual", removable=False, serial=None)
    assert codes(loop) == ["virtual"]
    assert codes(loop, include_virtual=True) == []
    assert codes(loop, allow_fixed=True) == []


def test_every_reason_has_a_line_and_a_remedy() -> None:
    worst = make_drive(
        bus="ata",
        removable=False,
        read_only=True,
        size=0,
        swap=True,
        holders=("md0",),
        mountpoints=("/",),
    )
    system = SystemFacts(
        root_disks=frozenset({"sdx"}),
        boot_disks=frozenset({"sdx"}),
        home_disks=frozenset({"sdx"}),
    )
    reasons = interlock_reasons(worst, system, allow_fixed=False)
    assert len({r.code for r in reasons}) == len(reasons) == 9
    for reason in reasons:
        assert reason.text and "\n" not in reason.text
        assert reason.remedy and "\n" not in reason.remedy
    json.dumps([r.to_dict() for r in reasons])


names = st.sampled_from(["sdx", "sda", "loop0"])
facts = st.builds(
    make_drive,
    name=names,
    bus=st.sampled_from(["usb", "ata", "nvme", "virtual"]),
    removable=st.booleans(),
    read_only=st.booleans(),
    swap=st.booleans(),
    size=st.sampled_from([0, 2**30]),
    holders=st.sampled_from([(), ("dm-0",)]),
    mountpoints=st.sampled_from([(), ("/mnt",)]),
)
systems = st.builds(
    SystemFacts,
    root_disks=st.frozensets(names),
    boot_disks=st.frozensets(names),
    swap_disks=st.frozensets(names),
    home_disks=st.frozensets(names),
)


@given(facts, systems)
def test_flags_only_ever_lift_the_fixed_and_virtual_rules(
    drive: Drive, system: SystemFacts
) -> None:
    strict = codes(drive, system)
    lenient = codes(drive, system, allow_fixed=True, include_virtual=True)
    assert lenient == [c for c in strict if c not in ("fixed", "virtual")]
    if drive.name in system.root_disks:
        assert "system-root" in lenient


def test_identity_token_is_serial_else_diskseq() -> None:
    assert make_drive().identity_token == "AC0001"
    assert make_drive(serial=None).identity_token == "diskseq:41"
    assert make_drive(serial=None, diskseq=None).identity_token == "/dev/sdx:8589934592"


def test_confirmation_needs_the_exact_token() -> None:
    stick = make_drive()
    assert confirm_token_matches(stick, "AC0001")
    assert confirm_token_matches(stick, "  AC0001\n")
    assert not confirm_token_matches(stick, "ac0001")
    assert not confirm_token_matches(stick, "AC000")
    assert not confirm_token_matches(stick, "")
    assert not confirm_token_matches(stick, "/dev/sdx")
    loop = make_drive(serial=None, diskseq=7)
    assert confirm_token_matches(loop, "diskseq:7")
    assert not confirm_token_matches(loop, "diskseq:70")
    assert not confirm_token_matches(loop, "7")


def test_identity_from_drive_and_json() -> None:
    stick = make_drive(partitions=(make_partition(1, mountpoints=("/m",)),))
    ident = Identity.from_drive(stick)
    assert (ident.node, ident.token, ident.size, ident.diskseq, ident.serial) == (
        "/dev/sdx",
        "AC0001",
        8 * 2**30,
        41,
        "AC0001",
    )
    data = json.loads(json.dumps(stick.to_dict()))
    assert data["identity_token"] == "AC0001"
    assert data["partitions"][0]["mountpoints"] == ["/m"]
    assert json.loads(json.dumps(ident.to_dict()))["token"] == "AC0001"


def test_parse_mountinfo_unescapes_and_skips_garbage() -> None:
    text = (
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
        "90 27 7:1 / /media/my\\040stick rw shared:5 - vfat /dev/loop1 rw\n"
        "91 27 0:45 / /data rw - btrfs /dev/sdb1 rw\n"
        "garbage line\n"
    )
    mounts = parse_mountinfo(text)
    assert [(m.devnum, m.mountpoint, m.fstype, m.source) for m in mounts] == [
        ("254:0", "/", "ext4", "/dev/vda"),
        ("7:1", "/media/my stick", "vfat", "/dev/loop1"),
        ("0:45", "/data", "btrfs", "/dev/sdb1"),
    ]


def test_parse_swaps() -> None:
    text = (
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        "/dev/sda3                               partition\t8388604\t\t0\t\t-2\n"
        "/swap\\040file                           file\t\t1048572\t\t0\t\t-3\n"
    )
    assert parse_swaps(text) == (("/dev/sda3", "partition"), ("/swap file", "file"))
