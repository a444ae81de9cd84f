"""A drive wiped with its own erase command (``-m sanitize``, ``secure-erase``,
``discard``): the sanitize workflow run on the opened drive, then certified like every
drive wipe."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from expunge.core.clock import utc_now
from expunge.core.errors import ExpungeError, TargetError
from expunge.core.progress import ProgressSink, StopRequest
from expunge.drives import OpenDevice
from expunge.drives.sanitize import CommandExecutor, IoctlExecutor
from expunge.workflows import certify, sanitize
from expunge.workflows.drive_wipe.certificate import issue
from expunge.workflows.drive_wipe.model import DriveRequest, DriveWipe


def sanitize_wipe(
    device: OpenDevice,
    request: DriveRequest,
    station: certify.Station,
    started: datetime,
    *,
    progress: ProgressSink,
    stop: StopRequest | None,
    executor: CommandExecutor | None = None,
    polling: sanitize.Polling = sanitize.DEFAULT_POLLING,
) -> DriveWipe:
    """Erase the opened drive with its own command, read it back, close it, certify it.

    ``executor`` carries the commands (by default the kernel's ioctls on the open
    descriptor). A refusal (the drive cannot, or may not, run the method) leaves the
    drive untouched and uncertified, like every refused drive.
    """
    token = request.confirmed.token
    with device:
        try:
            done = sanitize.sanitize_drive(
                device,
                request.method,
                request.verify,
                executor or IoctlExecutor(device.fd, device.node),
                progress=progress,
                stop=stop,
                polling=polling,
            )
        except ExpungeError as exc:
            return DriveWipe(device.drive, token, started, utc_now(), problem=exc)
        except OSError as exc:
            problem = TargetError(
                f"the drive stopped answering: {exc.strerror}",
                target=device.node,
                remedy="check the drive and its connection",
            )
            return DriveWipe(device.drive, token, started, utc_now(), problem=problem)
        drive = replace(device.drive, profile=done.profile)
    result = DriveWipe(drive, token, started, utc_now(), sanitize=done.work)
    reason = stop.reason if stop is not None and stop.is_set() else None
    draft = certify.drive_sanitize_draft(
        result, done.work, request.method, request.verify.mode, reason
    )
    return issue(result, draft, station)
