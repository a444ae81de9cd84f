"""The drive's own erase commands as exact byte buffers, and the one interface that
sends them.

``nvme`` (Sanitize, Format NVM, Identify, Get Log Page), ``ata`` (SECURITY ERASE, SANITIZE
DEVICE, SMART, native max and DCO, inside SAT ATA PASS-THROUGH (16)), ``scsi`` (SANITIZE,
REQUEST SENSE, INQUIRY, REPORT SUPPORTED OPERATION CODES) and ``blk`` (discard, secure
discard, zero-out) build ``commands``; ``executor.IoctlExecutor`` issues them with
``NVME_IOCTL_ADMIN_CMD``, ``SG_IO`` and the block ioctls. Nothing here decides what to
erase: that is the sanitize workflow's job.
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.drives.sanitize.commands import (
        BlockCommand,
        Completion,
        DriveCommand,
        NvmeAdminCommand,
        RescanCommand,
        ScsiCommand,
    )
    from expunge.drives.sanitize.executor import CommandExecutor, IoctlExecutor

__all__ = [
    "BlockCommand",
    "CommandExecutor",
    "Completion",
    "DriveCommand",
    "IoctlExecutor",
    "NvmeAdminCommand",
    "RescanCommand",
    "ScsiCommand",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
