"""Station mode: watch for drives, confirm each one (or take it automatically), wipe it, and
tell the events every step as it happens.

The station takes only media that appear after it started listening and pass its filters;
drives present at the start are listed (``watching``) and never touched. Each drive is
judged by the interlocks when it appears (a refused one is never offered for
confirmation), and again when it is opened for the first write.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from expunge.certificates.dsse import keyid
from expunge.core.clock import utc_now
from expunge.core.progress import StopRequest
from expunge.drives import (
    Appeared,
    Drive,
    DriveRefused,
    DriveWatch,
    Identity,
    MediaEvent,
    Place,
    WatchFilter,
    system_facts,
)
from expunge.shred.methods import Method
from expunge.verify import VerifyOptions
from expunge.workflows import certify
from expunge.workflows.drive_wipe.checks import judge
from expunge.workflows.drive_wipe.confirm import Confirmation, refused_result
from expunge.workflows.drive_wipe.events import (
    Attached,
    ConfirmNeeded,
    Detached,
    EventSink,
    Ignored,
    StationIdentity,
    Watching,
)
from expunge.workflows.drive_wipe.model import DriveRequest, DriveWipe
from expunge.workflows.drive_wipe.parallel import report_refusal, wipe_drives

# How often the coordinator wakes to notice a stop request when nothing else happens.
_STATION_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class StationPlan:
    """What a wiping station takes, and how it wipes.

    ``filters`` choose among drives that appear; ``once`` stops watching after the first
    drive taken (in automatic mode as it appears, otherwise once confirmed).
    """

    method: Method
    verify: VerifyOptions = field(default_factory=VerifyOptions)
    filters: WatchFilter = field(default_factory=WatchFilter)
    allow_fixed: bool = False
    once: bool = False

    def request(self, drive: Drive) -> DriveRequest:
        """The wipe of ``drive``, confirmed as it appeared."""
        return DriveRequest(
            drive,
            Identity.from_drive(drive),
            self.method,
            self.verify,
            allow_fixed=self.allow_fixed,
            include_virtual=self.filters.include_virtual,
        )


def station_identity(station: certify.Station) -> StationIdentity:
    """The host, operator and key id this station signs with (the key is loaded, or
    created, now: a wrong passphrase stops the station before it takes any drive)."""
    station.ready()
    settings = station.settings
    return StationIdentity(settings.host, settings.operator, keyid(station.key.public_key()))


class WipingStation:
    """A running station: it watches, asks for confirmation or wipes automatically, and
    reports every step to ``events``.

    Call ``start`` (listening has begun when it returns), then ``run`` until the station
    stops: when ``stop`` is set (wipes under way stop after their current buffer and are
    certified as interrupted) or, with ``once``, after the first drive taken. ``confirm``
    and ``set_automatic`` may be called from any thread meanwhile.
    """

    def __init__(
        self,
        plan: StationPlan,
        station: certify.Station,
        *,
        events: EventSink,
        stop: StopRequest,
        automatic: bool = True,
    ) -> None:
        self.plan = plan
        self.station = station
        self._events = events
        self._stop = stop
        self._automatic = automatic
        self._halt = threading.Event()
        self._changed = threading.Condition()
        self._pending: dict[str, Confirmation] = {}
        self._known: set[str] = set()
        self._results: list[DriveWipe] = []
        self._active = 0
        self._watching = False
        self._failure: BaseException | None = None

    @property
    def automatic(self) -> bool:
        """Whether drives that appear are wiped without confirmation (``watch --yes``)."""
        return self._automatic

    def set_automatic(self, on: bool) -> None:
        """Wipe drives that appear from now on without confirmation, or ask again.

        Drives already waiting keep waiting: automatic mode applies to what appears next.
        """
        self._automatic = on

    def start(self) -> Watching:
        """Load the station key, begin listening, and announce the drives left alone."""
        identity = station_identity(self.station)
        watch = DriveWatch()
        plan = self.plan
        announced = Watching(
            at=utc_now(),
            station=identity,
            filters=plan.filters,
            method=plan.method.name,
            verify=str(plan.verify.mode),
            automatic=self._automatic,
            present=watch.present,
        )
        self._events.emit(announced)
        self._watching = True
        threading.Thread(target=self._watch, args=(watch,), name="drive watch", daemon=True).start()
        return announced

    def waiting(self) -> tuple[Confirmation, ...]:
        """The drives waiting for their token, in the order they appeared."""
        with self._changed:
            return tuple(self._pending.values())

    def confirm(self, node: str, typed: str) -> Confirmation | None:
        """The operator typed ``typed`` for the drive at ``node``: a match starts its wipe,
        a mismatch asks again (``confirm-needed``) until its tries are used up, then the
        drive is refused. None when no drive at ``node`` waits for confirmation."""
        with self._changed:
            waiting = self._pending.get(node)
            if waiting is None:
                return None
            answered = waiting.answer(typed)
            if answered.confirmed or answered.refused:
                del self._pending[node]
            else:
                self._pending[node] = answered
        if answered.confirmed:
            self._take(answered.drive)
        elif answered.refused:
            self._refuse(answered.refusal())
        else:
            self._ask(answered)
        return answered

    def run(self) -> tuple[DriveWipe, ...]:
        """Wait until the station stops and every wipe it took is certified; the results
        in the order drives finished. A bug in the watcher or a wipe stops the others
        cleanly and is raised here."""
        with self._changed:
            while self._watching or self._active:
                if self._stop.is_set():
                    self._halt.set()
                self._changed.wait(_STATION_POLL_SECONDS)
            if self._failure is not None:
                raise self._failure
            return tuple(self._results)

    def _watch(self, watch: DriveWatch) -> None:
        try:
            for event in watch.events(self._halt):
                self._seen(event)
        except BaseException as exc:
            self._fail(exc)
        finally:
            with self._changed:
                self._watching = False
                self._changed.notify_all()

    def _seen(self, event: MediaEvent) -> None:
        if not isinstance(event, Appeared):
            with self._changed:
                known = event.node in self._known
                self._known.discard(event.node)
                self._pending.pop(event.node, None)
            if known:
                self._events.emit(Detached(at=utc_now(), node=event.node))
            return
        drive, place = event.drive, event.place
        reason = self.plan.filters.reason(drive, place)
        if reason is not None:
            self._events.emit(
                Ignored(at=utc_now(), node=drive.node, drive=drive, place=place, reason=reason)
            )
            return
        self._attached(drive, place)

    def _attached(self, drive: Drive, place: Place) -> None:
        with self._changed:
            self._known.add(drive.node)
        self._events.emit(Attached(at=utc_now(), node=drive.node, drive=drive, place=place))
        plan = self.plan
        check = judge(
            drive,
            system_facts(self.station.home.root),
            allow_fixed=plan.allow_fixed,
            include_virtual=plan.filters.include_virtual,
        )
        if not check.may_wipe:
            self._refuse(refused_result(drive, DriveRefused(drive.node, check.reasons)))
        elif self._automatic:
            self._take(drive)
        else:
            waiting = Confirmation(drive)
            with self._changed:
                self._pending[drive.node] = waiting
            self._ask(waiting)

    def _ask(self, waiting: Confirmation) -> None:
        drive = waiting.drive
        self._events.emit(
            ConfirmNeeded(
                at=utc_now(),
                node=drive.node,
                token=drive.identity_token,
                tries_left=waiting.tries_left,
            )
        )

    def _refuse(self, result: DriveWipe) -> None:
        report_refusal(result, self._events)
        with self._changed:
            self._results.append(result)
            self._changed.notify_all()

    def _take(self, drive: Drive) -> None:
        with self._changed:
            self._active += 1
        if self.plan.once:
            self._halt.set()
        request = self.plan.request(drive)
        threading.Thread(target=self._wipe, args=(request,), name=f"wipe {drive.node}").start()

    def _wipe(self, request: DriveRequest) -> None:
        try:
            (result,) = wipe_drives([request], self.station, events=self._events, stop=self._stop)
        except BaseException as exc:
            self._fail(exc)
            result = None
        with self._changed:
            self._active -= 1
            if result is not None:
                self._results.append(result)
            self._changed.notify_all()

    def _fail(self, exc: BaseException) -> None:
        with self._changed:
            self._failure = self._failure or exc
        self._stop.request("internal error")
