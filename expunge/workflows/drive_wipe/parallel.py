"""Several drives at once: every drive opened before any is written, then one worker thread
per drive. AES-CTR, BLAKE3 and the I/O release the GIL, so several drives take about as
long as the slowest; one drive's failure never stops the others."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from expunge.core.clock import utc_now
from expunge.core.errors import UsageError
from expunge.core.progress import StopRequest
from expunge.drives import DriveRefused, OpenDevice
from expunge.workflows import certify
from expunge.workflows.drive_wipe.events import NULL_EVENTS, EventSink, Finished, Refused
from expunge.workflows.drive_wipe.model import DriveRequest, DriveWipe
from expunge.workflows.drive_wipe.worker import Worker, open_drive


def wipe_drives(
    requests: Sequence[DriveRequest],
    station: certify.Station,
    *,
    events: EventSink = NULL_EVENTS,
    stop: StopRequest | None = None,
) -> tuple[DriveWipe, ...]:
    """Wipe, verify and certify every drive of ``requests`` at once; results in input order.

    Every drive is opened (and so checked again) before the first byte is written to any;
    a refused drive gets a result with its refusal and no certificate. The station key is
    loaded once at least one drive is open, so a wrong passphrase refuses before anything
    is written. Then one worker thread per drive overwrites, reads back and certifies it;
    one drive's failure does not stop the others. ``stop`` ends every wipe after its
    current buffer; what was done is certified as interrupted.

    ``events`` hears each drive's job as it goes (``refused`` or ``started``, progress, and
    ``finished`` the moment that drive is certified, not when all are done).
    """
    nodes = [r.drive.node for r in requests]
    for node in nodes:
        if nodes.count(node) > 1:
            raise UsageError("is named twice", target=node, remedy="name each drive once")
    opening = _open_all(requests, station)
    results = dict(opening.refused)
    for refused in opening.refused.values():
        report_refusal(refused, events)
    crashes: list[BaseException] = []

    def work(index: int, device: OpenDevice) -> None:
        try:
            worker = Worker(device, requests[index], station, events, stop)
            results[index] = worker.run(opening.starts[index])
        except BaseException as exc:  # a bug: re-raised once every other drive is done
            crashes.append(exc)
        finally:
            device.close()
        done = results.get(index)
        if done is not None and done.refused:  # a pending journal: nothing was written
            report_refusal(done, events)
        elif done is not None:
            events.emit(Finished(at=utc_now(), node=done.node, result=done))

    threads = [
        threading.Thread(target=work, args=(i, d), name=f"wipe {d.node}")
        for i, d in opening.opened.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if crashes:
        raise crashes[0]
    return tuple(results[i] for i in range(len(requests)))


def report_refusal(result: DriveWipe, events: EventSink) -> None:
    """Tell ``events`` that a drive was refused (with every interlock that applied), and
    that its job is finished."""
    problem = result.problem
    events.emit(
        Refused(
            at=utc_now(),
            node=result.node,
            token=result.token,
            error=problem.diagnostics() if problem is not None else "refused",
            reasons=problem.reasons if isinstance(problem, DriveRefused) else (),
        )
    )
    events.emit(Finished(at=utc_now(), node=result.node, result=result))


@dataclass
class _Opening:
    """The drives of one run by position: opened, or refused with their result."""

    opened: dict[int, OpenDevice] = field(default_factory=dict)
    refused: dict[int, DriveWipe] = field(default_factory=dict)
    starts: dict[int, datetime] = field(default_factory=dict)


def _open_all(requests: Sequence[DriveRequest], station: certify.Station) -> _Opening:
    """Open every drive, then make the station ready to sign; on any failure (a wrong key
    passphrase, a signal) every drive opened so far is closed again."""
    opening = _Opening()
    try:
        for index, request in enumerate(requests):
            opening.starts[index] = utc_now()
            outcome = open_drive(request, station.home.root)
            if isinstance(outcome, DriveWipe):
                opening.refused[index] = outcome
            else:
                opening.opened[index] = outcome
        if opening.opened:
            station.ready()
    except BaseException:
        for device in opening.opened.values():
            device.close()
        raise
    return opening
