"""One drive erased by its own command, from asking it what it is to reading it back.

The order is fixed: probe the drive (read-only), choose the operation or refuse, read the
verification samples (the "before"), send the command and poll it to the end, read the
same samples again (the "after") and compare. Nothing that could erase is sent before
the operation was chosen and the samples read.
"""

from __future__ import annotations

from dataclasses import dataclass

from expunge.core.clock import utc_now
from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.drives import OpenDevice, media_limitations
from expunge.drives.identify import DriveProfile
from expunge.drives.identify.probe import Smartctl, probe_drive
from expunge.drives.identify.smartctl import run_smartctl
from expunge.drives.sanitize.executor import CommandExecutor
from expunge.shred.methods import Method
from expunge.shred.report import Limitation
from expunge.verify import VerifyMode, VerifyOptions, make_plan
from expunge.verify.differs import SampleSet, compare, read_samples
from expunge.workflows.certify.device_work import SanitizeOperation, SanitizeWork
from expunge.workflows.sanitize.execute import (
    DEFAULT_POLLING,
    Polling,
    Result,
    Target,
    run_operation,
)
from expunge.workflows.sanitize.plan import choose_operation


@dataclass(frozen=True)
class Sanitized:
    """The drive's profile as probed, and what its sanitize did."""

    profile: DriveProfile
    work: SanitizeWork


def sanitize_drive(
    device: OpenDevice,
    method: Method,
    verify: VerifyOptions,
    executor: CommandExecutor,
    *,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
    polling: Polling = DEFAULT_POLLING,
    smartctl: Smartctl | None = run_smartctl,
) -> Sanitized:
    """Erase the opened drive with its own command for ``method`` and read it back.

    Raises ``RefusedError`` (nothing erased) when the drive cannot run the method or is
    in a state that forbids it, or rejects the command.
    """
    profile = probe_drive(device.drive, executor, smartctl=smartctl)
    operation = choose_operation(method.name, device.drive, profile)
    before = _samples(device, verify, progress, stop, "before")
    started = utc_now()
    if before is not None and before.interrupted:
        result = Result(False, "stopped before the command was sent: nothing was erased", True)
    else:
        target = Target(device.node, device.size, device.logical_block_size, profile)
        result = run_operation(
            operation, executor, target, progress=progress, stop=stop, polling=polling
        )
    finished = utc_now()
    check = None
    if before is not None and result.completed:
        after = _samples(device, verify, progress, stop, "after", before)
        if after is not None:
            check = compare(before, after, expected=operation.expected, started=finished)
    work = SanitizeWork(
        operation=operation,
        started=started,
        finished=finished,
        completed=result.completed,
        report=result.report,
        check=check,
        limitations=_limitations(device, profile, operation),
        interrupted=result.interrupted,
    )
    return Sanitized(profile, work)


def _samples(
    device: OpenDevice,
    verify: VerifyOptions,
    progress: ProgressSink,
    stop: StopRequest | None,
    when: str,
    before: SampleSet | None = None,
) -> SampleSet | None:
    """The samples of the plan (the same plan, and so seed, after as before)."""
    if verify.mode == VerifyMode.NONE:
        return None
    plan = (
        before.plan
        if before is not None
        else make_plan(
            device.size, verify.mode, coverage=verify.coverage, align=device.logical_block_size
        )
    )
    return read_samples(
        device.fd, plan, progress=progress, task=f"{device.node} read {when}", stop=stop
    )


def _limitations(
    device: OpenDevice, profile: DriveProfile, operation: SanitizeOperation
) -> tuple[Limitation, ...]:
    """What the drive's own erase leaves open: layers beneath a virtual disk, the cells a
    discard leaves to the controller, sectors the read-back could not address."""
    found = [
        Limitation(m.code, m.text, m.remedy)
        for m in media_limitations(device.drive)
        if m.code == "virtual-disk"
    ]
    if not operation.purge:
        found.append(Limitation("not-purge", operation.basis, "use -m sanitize where supported"))
    hidden = profile.hidden
    if hidden is not None and hidden.hpa_sectors:
        found.append(
            Limitation(
                "hidden-area-not-read",
                f"a host protected area of {hidden.hpa_sectors} sectors is set: the drive's "
                "own erase is meant to cover it, but the read-back reached only the visible "
                "sectors",
                "remove the HPA (hdparm -N) to read the whole drive back",
            )
        )
    return tuple(found)
