"""Finding disks: pyudev enumeration of the kernel's block devices, read into ``Drive`` facts.

Works without a udev daemon: udev properties are used when a udev database exists, sysfs
attributes (and the USB device's, for sticks whose bridge hides them) otherwise.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyudev

from expunge.core.errors import TargetError
from expunge.drives.model import Drive, Partition
from expunge.drives.system import MOUNTINFO, SWAPS, Usage

_LIST_REMEDY = "check the name with 'expunge drive list --all'"


def list_drives(
    *,
    include_all: bool = False,
    context: Any = None,
    mountinfo: Path = MOUNTINFO,
    swaps: Path = SWAPS,
) -> tuple[Drive, ...]:
    """Whole disks: removable and USB ones, or every disk with ``include_all``.

    Virtual disks with nothing behind them (detached loop devices, unused zram) are never
    listed: there is nothing to wipe.
    """
    ctx = context if context is not None else pyudev.Context()
    usage = Usage.read(mountinfo, swaps)
    drives = []
    for device in ctx.list_devices(subsystem="block", DEVTYPE="disk"):
        drive = drive_from_device(device, usage)
        if drive.virtual and drive.size == 0:
            continue
        if include_all or drive.hotpluggable:
            drives.append(drive)
    return tuple(sorted(drives, key=lambda d: _natural_key(d.name)))


def find_drive(
    node: str | os.PathLike[str],
    *,
    context: Any = None,
    mountinfo: Path = MOUNTINFO,
    swaps: Path = SWAPS,
) -> Drive:
    """The whole disk named by ``node`` (symlinks such as /dev/disk/by-id are followed)."""
    try:
        st = os.stat(node)
    except OSError as exc:
        raise TargetError(
            f"cannot find the device: {exc.strerror}", target=str(node), remedy=_LIST_REMEDY
        ) from exc
    if not stat.S_ISBLK(st.st_mode):
        raise TargetError(
            "is not a block device",
            target=str(node),
            remedy="name a whole disk such as /dev/sdb; use 'expunge shred' for files",
        )
    ctx = context if context is not None else pyudev.Context()
    device = device_by_rdev(ctx, st.st_rdev, str(node))
    if device.device_type != "disk":
        parent = device.find_parent("block", "disk")
        whole = parent.device_node if parent is not None else "the whole disk"
        raise TargetError(
            f"is a partition of {whole}",
            target=str(node),
            remedy=f"name the whole disk ({whole}); expunge wipes whole drives",
        )
    return drive_from_device(device, Usage.read(mountinfo, swaps))


def device_by_rdev(context: Any, rdev: int, node: str) -> Any:
    """The pyudev block device with device number ``rdev``; ``node`` names it in errors."""
    try:
        return pyudev.Devices.from_device_number(context, "block", rdev)
    except pyudev.DeviceNotFoundError as exc:
        raise TargetError(
            "the kernel does not list this device", target=node, remedy=_LIST_REMEDY
        ) from exc


def drive_from_device(device: Any, usage: Usage) -> Drive:
    """The facts of a pyudev disk, with what uses it and its partitions per ``usage``."""
    attrs = _Attributes.of(device)
    devnum = attrs.sysfs("dev") or f"{attrs.props.get('MAJOR')}:{attrs.props.get('MINOR')}"
    diskseq = attrs.props.get("DISKSEQ") or attrs.sysfs("diskseq")
    return Drive(
        node=_node(device),
        name=str(device.sys_name),
        devnum=devnum,
        size=_int(attrs.sysfs("size"), 0) * 512,
        bus=_bus(device),
        removable=attrs.sysfs("removable") == "1",
        vendor=_vendor(attrs),
        model=_model(attrs),
        serial=_serial(attrs),
        wwn=_wwn(attrs),
        logical_block_size=_int(attrs.sysfs("queue/logical_block_size"), 512),
        physical_block_size=_int(attrs.sysfs("queue/physical_block_size"), 512),
        rotational=attrs.sysfs("queue/rotational") == "1",
        read_only=attrs.sysfs("ro") == "1",
        diskseq=_int(diskseq, 0) if diskseq else None,
        partitions=_partitions(device, usage),
        holders=usage.holders(attrs.base, devnum),
        mountpoints=usage.mounts.get(devnum, ()),
        swap=devnum in usage.swap_devnums,
    )


def read_attr(base: Path, rel: str) -> str | None:
    """The sysfs attribute ``rel`` under ``base``, trimmed; None when absent or empty."""
    try:
        raw = (base / rel).read_bytes()
    except OSError:
        return None
    text = raw.decode("utf-8", "replace").strip("\x00 \t\r\n")
    return text or None


@dataclass(frozen=True)
class _Attributes:
    """Where a disk's facts come from: udev properties, its sysfs folder, and the sysfs
    folder of the USB device above it (None off USB)."""

    props: Mapping[str, Any]
    base: Path
    usb_base: Path | None

    @classmethod
    def of(cls, device: Any) -> _Attributes:
        usb = device.find_parent("usb", "usb_device")
        return cls(
            device.properties,
            Path(device.sys_path),
            Path(usb.sys_path) if usb is not None else None,
        )

    def sysfs(self, rel: str) -> str | None:
        return read_attr(self.base, rel)

    def usb(self, name: str) -> str | None:
        return read_attr(self.usb_base, name) if self.usb_base is not None else None


def _vendor(attrs: _Attributes) -> str | None:
    return _first(
        attrs.props.get("ID_VENDOR"),
        _not_numeric_id(attrs.sysfs("device/vendor")),
        attrs.usb("manufacturer"),
    )


def _model(attrs: _Attributes) -> str | None:
    return _first(attrs.props.get("ID_MODEL"), attrs.sysfs("device/model"), attrs.usb("product"))


def _serial(attrs: _Attributes) -> str | None:
    return _first(
        attrs.props.get("ID_SERIAL_SHORT"),
        attrs.props.get("ID_SERIAL"),
        attrs.sysfs("device/serial"),
        _vpd_serial(attrs.base),
        attrs.sysfs("serial"),
        attrs.usb("serial"),
    )


def _wwn(attrs: _Attributes) -> str | None:
    return _first(
        attrs.props.get("ID_WWN_WITH_EXTENSION"),
        attrs.props.get("ID_WWN"),
        attrs.sysfs("wwid"),
        attrs.sysfs("device/wwid"),
    )


def _partitions(device: Any, usage: Usage) -> tuple[Partition, ...]:
    """The disk's partitions in table order (their sysfs number), not in name order."""
    children = [
        c for c in device.children if c.subsystem == "block" and c.device_type == "partition"
    ]
    children.sort(key=lambda c: _int(read_attr(Path(c.sys_path), "partition"), 0))
    return tuple(_partition(c, usage) for c in children)


def _partition(child: Any, usage: Usage) -> Partition:
    base = Path(child.sys_path)
    devnum = read_attr(base, "dev") or ""
    return Partition(
        node=_node(child),
        name=str(child.sys_name),
        devnum=devnum,
        size=_int(read_attr(base, "size"), 0) * 512,
        mountpoints=usage.mounts.get(devnum, ()),
        holders=usage.holders(base, devnum),
        swap=devnum in usage.swap_devnums,
    )


def _node(device: Any) -> str:
    return str(device.device_node or f"/dev/{device.sys_name}")


def _bus(device: Any) -> str:
    # loop, ram, zram, device-mapper, md and nbd disks all live under /devices/virtual.
    if "/devices/virtual/" in str(device.sys_path):
        return "virtual"
    if device.find_parent("usb") is not None:
        return "usb"
    for subsystem in ("nvme", "mmc", "virtio"):
        if device.find_parent(subsystem) is not None:
            return subsystem
    if device.find_parent("scsi") is not None:
        return "ata" if re.search(r"/ata\d+/", str(device.sys_path)) else "scsi"
    return str(device.properties.get("ID_BUS") or "unknown")


def _vpd_serial(base: Path) -> str | None:
    # SCSI VPD page 0x80: 4-byte header, then the unit serial number in ASCII.
    try:
        raw = (base / "device" / "vpd_pg80").read_bytes()
    except OSError:
        return None
    if len(raw) < 4:
        return None
    length = int.from_bytes(raw[2:4], "big")
    text = raw[4 : 4 + length].decode("ascii", "replace").strip("\x00 ")
    return text or None


def _first(*values: str | None) -> str | None:
    for value in values:
        if value:
            return value
    return None


def _not_numeric_id(value: str | None) -> str | None:
    # virtio and PCI expose vendor IDs such as 0x1af4: not a name an operator recognizes.
    return None if value is None or value.startswith("0x") else value


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _natural_key(name: str) -> tuple[object, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))
