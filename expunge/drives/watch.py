"""Hot-plug: the disks present when a station starts, those that appear and go from then on,
and which of them the station takes.

Virtual disks (loop devices above all) are attached by all sorts of programs at any time:
a station takes one only when the operator named it in an allow-list (``devices``), by
device node or, for a loop device, by the path of the file behind it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pyudev

from expunge.core.errors import UsageError
from expunge.drives.discovery import drive_from_device, list_drives
from expunge.drives.model import Drive
from expunge.drives.place import Place, place_of
from expunge.drives.system import MOUNTINFO, SWAPS, Usage

POLL_SECONDS = 0.25
# A disk's medium is looked at once no uevent came for it for this long.
SETTLE_SECONDS = 0.5


@dataclass(frozen=True)
class WatchFilter:
    """Which newly appeared disks station mode takes.

    ``buses`` None means any physical bus. ``devices`` is an allow-list of shell-style
    globs matched against the device node and a loop device's backing file (``*`` also
    matches ``/``); when given, only matching disks are taken. Virtual disks are taken
    only with ``include_virtual``, which needs ``devices``: without an allow-list a
    station would take other programs' loop devices.
    """

    buses: frozenset[str] | None = frozenset({"usb"})
    min_size: int = 1
    max_size: int | None = None
    include_virtual: bool = False
    devices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.include_virtual and not self.devices:
            raise UsageError(
                "takes only the virtual disks an allow-list names",
                target="--include-virtual",
                remedy="add --device GLOB (a device node, or a loop device's backing file)",
            )

    def reason(self, drive: Drive, place: Place) -> str | None:
        """Why ``drive`` (at ``place``) is not taken; None when it is."""
        if drive.size < max(self.min_size, 1):
            return f"smaller than {self.min_size} bytes" if drive.size else "has no medium"
        if self.max_size is not None and drive.size > self.max_size:
            return f"larger than {self.max_size} bytes"
        if drive.virtual and not self.include_virtual:
            return "a virtual disk (--include-virtual with --device names them)"
        if not drive.virtual and self.buses is not None and drive.bus not in self.buses:
            return f"on bus {drive.bus}, not {', '.join(sorted(self.buses))}"
        if self.devices and not self.names(drive, place):
            return "not named by --device"
        return None

    def accepts(self, drive: Drive, place: Place) -> bool:
        """True when ``drive`` should be offered to the station."""
        return self.reason(drive, place) is None

    def names(self, drive: Drive, place: Place) -> bool:
        """Whether a ``devices`` glob matches the node or the loop device's backing file."""
        candidates = [drive.node, *([place.backing_file] if place.backing_file else [])]
        return any(fnmatchcase(c, glob) for glob in self.devices for c in candidates)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "buses": sorted(self.buses) if self.buses is not None else None,
            "min_size": self.min_size,
            "max_size": self.max_size,
            "include_virtual": self.include_virtual,
            "devices": list(self.devices),
        }


@dataclass(frozen=True)
class Appeared:
    """A disk with a new medium: plugged in, a card inserted, a file attached to a loop."""

    drive: Drive
    place: Place


@dataclass(frozen=True)
class Removed:
    """A disk seen before lost its medium or went away."""

    node: str
    name: str


MediaEvent = Appeared | Removed


class DriveWatch:
    """Listening to the kernel's block-device uevents, with the disks present at the start.

    Listens to the kernel's uevents (not udevd's, which minimal hosts lack). ``present``
    is listed once listening has begun, so a disk plugged in meanwhile is either present
    or appears later, never both and never neither.
    """

    def __init__(
        self, *, context: Any = None, mountinfo: Path = MOUNTINFO, swaps: Path = SWAPS
    ) -> None:
        ctx = context if context is not None else pyudev.Context()
        self._monitor = pyudev.Monitor.from_netlink(ctx, source="kernel")
        self._monitor.filter_by("block", device_type="disk")
        self._monitor.start()
        self._media = _NewMedia(ctx, mountinfo, swaps)
        drives = list_drives(include_all=True, context=ctx, mountinfo=mountinfo, swaps=swaps)
        self.present: tuple[tuple[Drive, Place], ...] = tuple(
            (d, place_of(d.name, context=ctx)) for d in drives
        )
        for drive, _place in self.present:
            self._media.remember(drive)

    def events(self, stop: threading.Event) -> Iterator[MediaEvent]:
        """Each medium that appears or goes from now on, until ``stop``.

        A disk appears once per medium (per diskseq): a USB stick when plugged in, a card
        when inserted into a reader, a loop device when a file is attached to it. Returns
        within a fraction of a second after ``stop`` is set.
        """
        while not stop.is_set():
            device = self._monitor.poll(timeout=POLL_SECONDS)
            if device is not None:
                gone = self._media.heard(device, time.monotonic())
                if gone is not None:
                    yield gone
            yield from self._media.settled(time.monotonic())


class _NewMedia:
    """Tells which disk uevents announce a medium not offered yet, or the end of one.

    Media are remembered by disk name and forgotten when the disk goes away or loses its
    medium, so that a re-plugged stick without diskseq is offered again.
    """

    def __init__(self, context: Any, mountinfo: Path, swaps: Path):
        self._context = context
        self._mountinfo = mountinfo
        self._swaps = swaps
        self._seen: dict[str, tuple[str, str]] = {}
        self._quiet: dict[str, float] = {}

    def remember(self, drive: Drive) -> None:
        """``drive``'s medium is known already (present at the start)."""
        if drive.size:
            self._seen[drive.name] = (drive.node, _medium(drive))

    def heard(self, device: Any, now: float) -> Removed | None:
        """Take the uevent ``device``: a disk that went away is told at once; a disk whose
        medium may have changed is looked at once it has been quiet for ``SETTLE_SECONDS``
        (attaching a loop device or inserting a card changes the medium several times in
        a row, and a wipe confirmed in between would be refused)."""
        if device.subsystem != "block" or device.device_type != "disk":
            return None
        name = str(device.sys_name)
        if device.action == "remove":
            self._quiet.pop(name, None)
            return self._gone(name)
        if device.action in ("add", "change"):
            self._quiet[name] = now + SETTLE_SECONDS
        return None

    def settled(self, now: float) -> Iterator[MediaEvent]:
        """What the disks quiet for long enough now hold: a new medium, or none any more."""
        for name in [n for n, due in self._quiet.items() if due <= now]:
            del self._quiet[name]
            event = self._look(name)
            if event is not None:
                yield event

    def _look(self, name: str) -> MediaEvent | None:
        try:
            current = pyudev.Devices.from_name(self._context, "block", name)
        except pyudev.DeviceNotFoundError:
            return self._gone(name)
        drive = drive_from_device(current, Usage.read(self._mountinfo, self._swaps))
        if drive.size == 0:
            return self._gone(name)
        medium = _medium(drive)
        if self._seen.get(name, ("", ""))[1] == medium:
            return None
        self._seen[name] = (drive.node, medium)
        return Appeared(drive, place_of(name, context=self._context))

    def _gone(self, name: str) -> Removed | None:
        seen = self._seen.pop(name, None)
        return Removed(seen[0], name) if seen is not None else None


def _medium(drive: Drive) -> str:
    return str(drive.diskseq) if drive.diskseq is not None else "present"
