"""The station's filter and a disk's place: pure rules, checked on drive facts we build."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expunge.core.errors import UsageError
from expunge.drives import Place, WatchFilter, slot_from_sys_path
from tests.support.drives import make_drive

MIB = 2**20
LOOP = make_drive(node="/dev/loop7", name="loop7", bus="virtual", removable=False, serial=None)


def test_include_virtual_needs_an_allow_list() -> None:
    with pytest.raises(UsageError) as caught:
        WatchFilter(include_virtual=True)
    assert "--device" in caught.value.diagnostics()


def test_a_loop_device_is_taken_only_when_its_backing_file_or_node_is_named() -> None:
    mine = WatchFilter(include_virtual=True, devices=("/tmp/run-1/*.img",))
    ours, theirs = Place(backing_file="/tmp/run-1/stick.img"), Place(backing_file="/srv/vm.img")
    assert mine.accepts(LOOP, ours)
    assert mine.reason(LOOP, theirs) == "not named by --device"
    assert not mine.accepts(LOOP, Place())
    by_node = WatchFilter(include_virtual=True, devices=("/dev/loop7",))
    assert by_node.accepts(LOOP, theirs)
    assert "virtual" in (WatchFilter(buses=None).reason(LOOP, ours) or "")


def test_physical_drives_by_bus_size_and_allow_list() -> None:
    stick = make_drive(size=8 * 2**30)
    place = Place(slot="pci-0000:00:14.0-usb-0:1:1.0-scsi-0:0:0:0")
    assert WatchFilter().accepts(stick, place)
    assert WatchFilter(buses=frozenset({"ata"})).reason(stick, place) == "on bus usb, not ata"
    assert "smaller" in (WatchFilter(min_size=16 * 2**30).reason(stick, place) or "")
    assert "larger" in (WatchFilter(max_size=2**30).reason(stick, place) or "")
    assert WatchFilter(min_size=1).reason(make_drive(size=0), place) == "has no medium"
    assert not WatchFilter().accepts(make_drive(bus="ata", removable=True), place)
    assert WatchFilter(buses=None).accepts(make_drive(bus="ata"), place)
    assert WatchFilter(devices=("/dev/sdx",)).accepts(stick, place)
    assert not WatchFilter(devices=("/dev/sdy",)).accepts(stick, place)


@given(
    node=st.from_regex(r"/dev/loop[0-9]{1,3}", fullmatch=True),
    backing=st.one_of(
        st.none(), st.from_regex(r"/[a-z]{1,8}(/[a-z0-9.]{1,8}){0,3}", fullmatch=True)
    ),
)
def test_without_include_virtual_no_virtual_disk_is_ever_taken(
    node: str, backing: str | None
) -> None:
    drive = make_drive(node=node, bus="virtual", removable=True)
    place = Place(backing_file=backing)
    for filters in (WatchFilter(), WatchFilter(buses=None), WatchFilter(devices=("*",))):
        assert not filters.accepts(drive, place)


@pytest.mark.parametrize(
    ("path", "slot"),
    [
        (
            "/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1.3/2-1.3:1.0/host6/target6:0:0/"
            "6:0:0:0/block/sdb",
            "pci-0000:00:14.0-usb-0:1.3:1.0-scsi-0:0:0:0",
        ),
        (
            "/sys/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/block/sda",
            "pci-0000:00:1f.2-ata-3",
        ),
        (
            "/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/nvme/nvme0/nvme0n1",
            "pci-0000:01:00.0-nvme-1",
        ),
        ("/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda", "pci-0000:00:02.0"),
        ("/sys/devices/virtual/block/loop0", None),
    ],
)
def test_slot_from_the_sysfs_path(path: str, slot: str | None) -> None:
    assert slot_from_sys_path(path) == slot
