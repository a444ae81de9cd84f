"""Where a disk sits: the physical slot it is plugged into, and the file behind a loop device.

An operator at a station tells drives apart by the port they plugged them into, which is
what udev's ``ID_PATH`` names (``pci-0000:00:14.0-usb-0:1.3:1.0-scsi-0:0:0:0``). Minimal
hosts run no udev daemon; there the same form is derived from the disk's place in sysfs.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyudev

from expunge.drives.system import SYS

_PCI = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_USB_INTERFACE = re.compile(r"^\d+-([\d.]+:\d+\.\d+)$")
_SCSI_LUN = re.compile(r"^\d+:(\d+:\d+:\d+)$")
_ATA = re.compile(r"^ata(\d+)$")
_NVME_NAMESPACE = re.compile(r"^nvme\d+n(\d+)$")
_MMC_CARD = re.compile(r"^mmc\d+:[0-9a-f]+$")


@dataclass(frozen=True)
class Place:
    """The slot a disk is plugged into (None for a virtual disk), and the file behind a
    loop device (None for anything else)."""

    slot: str | None = None
    backing_file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def place_of(name: str, *, sys_root: Path = SYS, context: Any = None) -> Place:
    """Where the disk named ``name`` (``sdb``, ``loop3``) sits, read now from udev and sysfs."""
    block = sys_root / "block" / name
    slot = _udev_id_path(name, context) or slot_from_sys_path(os.path.realpath(block))
    return Place(slot=slot, backing_file=_backing_file(block))


def slot_from_sys_path(path: str) -> str | None:
    """``ID_PATH`` as udev's ``path_id`` builds it, from the disk's sysfs device path.

    Covers the buses a station meets: USB (with the SCSI unit behind the bridge), ATA,
    NVMe, virtio and other PCI block devices, and MMC cards; None for a virtual disk.
    """
    parts = Path(path).parts
    if "virtual" in parts:
        return None
    pci: str | None = None
    tail: list[str] = []
    for part in parts:
        if _PCI.match(part):
            # The PCI device nearest the disk is its slot; bridges above it are not named.
            pci, tail = part, []
        elif match := _USB_INTERFACE.match(part):
            tail.append(f"usb-0:{match.group(1)}")
        elif match := _ATA.match(part):
            tail.append(f"ata-{match.group(1)}")
        elif (match := _SCSI_LUN.match(part)) and not any(t.startswith("ata-") for t in tail):
            tail.append(f"scsi-0:{match.group(1)}")
        elif _MMC_CARD.match(part):
            tail.append(f"mmc-{part}")
        elif match := _NVME_NAMESPACE.match(part):
            tail.append(f"nvme-{match.group(1)}")
    named = ([f"pci-{pci}"] if pci else []) + tail
    return "-".join(named) or None


def _udev_id_path(name: str, context: Any) -> str | None:
    """udev's own ``ID_PATH``, where a udev database knows the disk."""
    try:
        device = pyudev.Devices.from_name(context or pyudev.Context(), "block", name)
    except pyudev.DeviceNotFoundError:
        return None
    value = device.properties.get("ID_PATH")
    return str(value) if value else None


def _backing_file(block: Path) -> str | None:
    try:
        text = (block / "loop" / "backing_file").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return text.strip() or None
