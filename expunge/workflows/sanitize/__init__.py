"""Erasing a drive with its own command: NVMe Sanitize and Format NVM, ATA SANITIZE and
SECURITY ERASE UNIT, SCSI SANITIZE, and the block layer's (secure) discard.

Layer 2, below ``drive_wipe`` (which opens, certifies and records drives): ``plan``
chooses the operation a method becomes on one drive, or refuses; ``execute`` sends it
and polls the drive to the end; ``flow`` runs the whole of it with the read-back that
compares samples taken just before and just after the erase.
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.workflows.sanitize.execute import DEFAULT_POLLING, Polling
    from expunge.workflows.sanitize.flow import Sanitized, sanitize_drive
    from expunge.workflows.sanitize.plan import OPERATIONS, choose_operation

__all__ = [
    "DEFAULT_POLLING",
    "OPERATIONS",
    "Polling",
    "Sanitized",
    "choose_operation",
    "sanitize_drive",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
