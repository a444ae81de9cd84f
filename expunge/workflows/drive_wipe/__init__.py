"""Whole drives: wipe several at once, verify and certify each; and the hot-plug station.

Layer 2. For every drive the order is fixed: open it exclusively right before the first
write (``drives.open_for_wipe`` re-reads size and diskseq through the descriptor and
re-runs the interlocks), overwrite it with the same engine as files (``O_DIRECT`` from
page-aligned buffers where the kernel takes it, in multiples of the logical block size),
read it back with ``O_DIRECT``, and sign one certificate per drive. A refused drive is
reported with its reason: nothing is written to it and no certificate is issued.

Drives wipe in parallel, one worker thread each: AES-CTR, BLAKE3 and the I/O release the
GIL, so several drives take about as long as the slowest. One drive's failure never stops
the others. Every step of every drive is an event (``events``), told as it happens.

Modules: ``checks`` (drives judged for confirmation), ``confirm`` (typed tokens, a few
tries each), ``model`` (request and result), ``events`` (what a drive job says),
``tracker`` (progress as events), ``worker`` (one drive), ``certificate`` (its draft,
signed and recorded), ``parallel`` (several drives at once), ``station`` (the watch loop).
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.workflows.drive_wipe.checks import DriveCheck, check_drives, survey
    from expunge.workflows.drive_wipe.confirm import CONFIRM_TRIES, Confirmation
    from expunge.workflows.drive_wipe.events import (
        NULL_EVENTS,
        Attached,
        ConfirmNeeded,
        Detached,
        DriveEvent,
        Event,
        EventSink,
        Finished,
        Ignored,
        PassDone,
        Progress,
        Refused,
        Started,
        StationIdentity,
        Verifying,
        Watching,
    )
    from expunge.workflows.drive_wipe.model import DriveRequest, DriveStatus, DriveWipe
    from expunge.workflows.drive_wipe.parallel import report_refusal, wipe_drives
    from expunge.workflows.drive_wipe.station import StationPlan, WipingStation, station_identity

__all__ = [
    "CONFIRM_TRIES",
    "NULL_EVENTS",
    "Attached",
    "ConfirmNeeded",
    "Confirmation",
    "Detached",
    "DriveCheck",
    "DriveEvent",
    "DriveRequest",
    "DriveStatus",
    "DriveWipe",
    "Event",
    "EventSink",
    "Finished",
    "Ignored",
    "PassDone",
    "Progress",
    "Refused",
    "Started",
    "StationIdentity",
    "StationPlan",
    "Verifying",
    "Watching",
    "WipingStation",
    "check_drives",
    "report_refusal",
    "station_identity",
    "survey",
    "wipe_drives",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
