"""Hot-plug: the disks that appear from now on, as a wiping station takes them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyudev

from expunge.drives.discovery import drive_from_device
from expunge.drives.model import Drive
from expunge.drives.system import MOUNTINFO, SWAPS, Usage

POLL_SECONDS = 0.25


@dataclass(frozen=True)
class WatchFilter:
    """Which newly appeared disks station mode takes.

    ``buses`` None means any physical bus; virtual disks pass only with ``include_virtual``.
    """

    buses: frozenset[str] | None = frozenset({"usb"})
    min_size: int = 1
    include_virtual: bool = False

    def accepts(self, drive: Drive) -> bool:
        """True when ``drive`` should be offered to the station."""
        if drive.size < max(self.min_size, 1):
            return False
        if drive.virtual:
            return self.include_virtual
        return self.buses is None or drive.bus in self.buses


def watch_drives(
    *,
    filters: WatchFilter,
    stop: threading.Event,
    context: Any = None,
    mountinfo: Path = MOUNTINFO,
    swaps: Path = SWAPS,
) -> Iterator[Drive]:
    """Yield each disk that appears from now on and passes ``filters``, until ``stop``.

    Listens to the kernel's uevents (not udevd's, which minimal hosts lack); listening has
    begun when this call returns, before the first ``next()``. A disk is yielded once per
    medium (per diskseq): a USB stick when plugged in, a card when inserted into a reader,
    a loop device when a file is attached to it. Returns within a fraction of a second
    after ``stop`` is set.
    """
    ctx = context if context is not None else pyudev.Context()
    monitor = pyudev.Monitor.from_netlink(ctx, source="kernel")
    monitor.filter_by("block", device_type="disk")
    monitor.start()
    return _watch(monitor, filters, stop, _NewMedia(mountinfo, swaps))


def _watch(
    monitor: Any, filters: WatchFilter, stop: threading.Event, media: _NewMedia
) -> Iterator[Drive]:
    # The netlink socket closes when the generator, and with it the monitor, is released.
    while not stop.is_set():
        device = monitor.poll(timeout=POLL_SECONDS)
        drive = media.announced(device) if device is not None else None
        if drive is not None and filters.accepts(drive):
            yield drive


class _NewMedia:
    """Tells which disk uevents announce a medium not offered yet.

    Media are remembered by disk name and forgotten when the disk goes away or loses its
    medium, so that a re-plugged stick without diskseq is offered again.
    """

    def __init__(self, mountinfo: Path, swaps: Path):
        self._mountinfo = mountinfo
        self._swaps = swaps
        self._seen: dict[str, str] = {}

    def announced(self, device: Any) -> Drive | None:
        """The disk of uevent ``device`` when it brings a new medium, else None."""
        if device.subsystem != "block" or device.device_type != "disk":
            return None
        name = str(device.sys_name)
        if device.action == "remove":
            self._seen.pop(name, None)
            return None
        if device.action not in ("add", "change"):
            return None
        drive = drive_from_device(device, Usage.read(self._mountinfo, self._swaps))
        if drive.size == 0:
            self._seen.pop(name, None)
            return None
        medium = str(drive.diskseq) if drive.diskseq is not None else "present"
        if self._seen.get(name) == medium:
            return None
        self._seen[name] = medium
        return drive
