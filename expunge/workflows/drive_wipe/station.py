"""Station mode: watch for drives, wipe each one that appears, and report each as it ends."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.drives import Drive, Identity, WatchFilter, watch_drives
from expunge.shred.methods import Method
from expunge.verify import VerifyOptions
from expunge.workflows import certify
from expunge.workflows.drive_wipe.model import DriveRequest, DriveWipe
from expunge.workflows.drive_wipe.parallel import wipe_drives

# How often the collector wakes to notice that the watcher and every wipe have ended, when
# no result arrives.
_STATION_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class StationPlan:
    """What a wiping station takes, and how it wipes.

    ``filters`` choose among drives that appear; ``max_size`` (bytes) leaves larger ones
    alone; ``once`` stops watching after the first drive taken.
    """

    method: Method
    verify: VerifyOptions = field(default_factory=VerifyOptions)
    filters: WatchFilter = field(default_factory=WatchFilter)
    max_size: int | None = None
    allow_fixed: bool = False
    once: bool = False

    def takes(self, drive: Drive) -> bool:
        """Whether a drive that passed ``filters`` is within ``max_size``."""
        return self.max_size is None or drive.size <= self.max_size

    def request(self, drive: Drive) -> DriveRequest:
        """The wipe of ``drive``, confirmed as it appeared (nobody is asked)."""
        return DriveRequest(
            drive,
            Identity.from_drive(drive),
            self.method,
            self.verify,
            allow_fixed=self.allow_fixed,
            include_virtual=self.filters.include_virtual,
        )


@dataclass(frozen=True)
class _Taken:
    """The watcher took a drive; its result follows."""


@dataclass(frozen=True)
class _WatchEnded:
    """The watcher stopped taking drives."""

    error: BaseException | None = None


_Event = DriveWipe | _Taken | _WatchEnded | BaseException


def run_station(
    plan: StationPlan,
    station: certify.Station,
    *,
    stop: StopRequest,
    progress: ProgressSink = NULL_PROGRESS,
) -> Iterator[DriveWipe]:
    """Watch for drives and wipe each one that appears and passes the filters.

    Listening has begun when this call returns. Each drive is confirmed as it appeared
    (its identity when the kernel announced it) and wiped like ``wipe_drives`` wipes it,
    several at once, without prompting: the caller asked for that. Results are yielded as
    drives finish. The iterator ends when ``stop`` is set (in-flight wipes stop after their
    current buffer and are certified as interrupted) or, with ``once``, after the first
    drive; iterate it to the end.
    """
    station.ready()
    appeared = watch_drives(filters=plan.filters, stop=stop)
    events: queue.Queue[_Event] = queue.Queue()

    def wipe(request: DriveRequest) -> None:
        try:
            events.put(wipe_drives([request], station, progress=progress, stop=stop)[0])
        except BaseException as exc:
            events.put(exc)

    def watch() -> None:
        try:
            for drive in appeared:
                if not plan.takes(drive):
                    continue
                events.put(_Taken())
                thread = threading.Thread(
                    target=wipe, args=(plan.request(drive),), name=f"wipe {drive.node}"
                )
                thread.start()
                if plan.once:
                    break
        except BaseException as exc:
            events.put(_WatchEnded(exc))
        else:
            events.put(_WatchEnded())

    threading.Thread(target=watch, name="drive watch", daemon=True).start()
    return _collect(events, stop)


def _collect(events: queue.Queue[_Event], stop: StopRequest) -> Iterator[DriveWipe]:
    """Results as they come, until the watcher has ended and every wipe it took is done;
    then the first failure of the watcher or of a wipe, raised."""
    watching, active = True, 0
    failure: BaseException | None = None
    while watching or active:
        try:
            event = events.get(timeout=_STATION_POLL_SECONDS)
        except queue.Empty:
            continue
        if isinstance(event, _Taken):
            active += 1
        elif isinstance(event, _WatchEnded):
            watching = False
            failure = failure or event.error
        elif isinstance(event, DriveWipe):
            active -= 1
            yield event
        else:
            # A bug in one wipe: stop the others cleanly, then report it.
            active -= 1
            failure = failure or event
            stop.request("internal error")
    if failure is not None:
        raise failure
