"""Helpers for the sanitize tests: a loop device of ours opened as expunge opens a drive,
presented as the kind of drive the test double stands in for."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from expunge.core.clock import utc_now
from expunge.core.config import Home, StationSettings
from expunge.core.progress import StopRequest
from expunge.drives import Identity, OpenDevice, find_drive, open_for_wipe
from expunge.drives.sanitize import CommandExecutor
from expunge.shred.methods import get_drive_method
from expunge.verify import VerifyOptions
from expunge.workflows import certify, drive_wipe, sanitize
from expunge.workflows.drive_wipe.sanitize import sanitize_wipe

FAST = sanitize.Polling(interval=0.0, limit=30.0)


def station(home: Path) -> certify.Station:
    """A station signing into ``home``."""
    return certify.Station.open(Home(home), StationSettings("tester"), None)


def open_as(node: str, home: Path, bus: str, *, rotational: bool | None = None) -> OpenDevice:
    """``node`` (a loop device of ours) opened exclusively as for a wipe, its facts then
    presented as a drive on ``bus``: the test double answers for the hardware."""
    drive = find_drive(node)
    device = open_for_wipe(drive, Identity.from_drive(drive), home=home, include_virtual=True)
    facts = {"bus": bus} if rotational is None else {"bus": bus, "rotational": rotational}
    device.drive = replace(device.drive, **facts)  # type: ignore[arg-type]
    return device


@dataclass
class RecordingProgress:
    """A progress sink that keeps what it was told."""

    events: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, task: str, total: int, label: str) -> None:
        with self.lock:
            self.events.append(("start", f"{task} {label}", total))

    def advance(self, task: str, done: int) -> None:
        with self.lock:
            self.events.append(("advance", task, done))

    def finish(self, task: str) -> None:
        with self.lock:
            self.events.append(("finish", task, 0))

    def advanced(self, task_part: str) -> int:
        """Units of progress reported for tasks whose name contains ``task_part``."""
        return sum(n for kind, task, n in self.events if kind == "advance" and task_part in task)


def wipe(
    device: OpenDevice,
    method: str,
    home: Path,
    executor: CommandExecutor,
    *,
    verify: VerifyOptions | None = None,
    progress: RecordingProgress | None = None,
    stop: StopRequest | None = None,
) -> drive_wipe.DriveWipe:
    """``drive wipe -m METHOD`` of the opened drive, commands carried by ``executor``."""
    request = drive_wipe.DriveRequest(
        device.drive,
        Identity.from_drive(device.drive),
        get_drive_method(method),
        verify or VerifyOptions("quick", 5.0),
        include_virtual=True,
    )
    return sanitize_wipe(
        device,
        request,
        station(home),
        utc_now(),
        progress=progress or RecordingProgress(),
        stop=stop,
        executor=executor,
        polling=FAST,
    )
