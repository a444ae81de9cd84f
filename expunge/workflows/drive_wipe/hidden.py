"""``--include-hidden-areas``: an ATA drive's host protected area opened for the wipe.

The HPA is the end of the drive that SET MAX ADDRESS hid from the host; READ NATIVE MAX
ADDRESS says how far the drive really goes. For the wipe, the maximum is set to the native
one with the VOLATILE VALUE bit clear (so a power cycle restores the HPA whatever happens),
the kernel re-reads the capacity, the whole drive is overwritten and read back, and the
previous maximum is set again. A device configuration overlay is not touched: removing
one is permanent, and is left to the operator.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from expunge.core.blockdev import BLKGETSIZE64, ioctl_u64
from expunge.core.errors import RefusedError, TargetError
from expunge.drives import OpenDevice
from expunge.drives.sanitize import CommandExecutor, IoctlExecutor, RescanCommand, ata


@contextmanager
def opened_hidden_area(
    device: OpenDevice, wanted: bool, executor: CommandExecutor | None = None
) -> Iterator[None]:
    """Within the block, the drive's HPA is addressable and ``device.size`` covers it.

    Refused before anything is written when the drive cannot be asked for its native
    maximum, or refuses the change. The drive's profile records that the area was opened.
    """
    if not wanted:
        yield
        return
    profile = device.drive.profile
    hidden = profile.hidden if profile is not None else None
    if profile is None or profile.transport != "ata" or hidden is None or hidden.native is None:
        raise RefusedError(
            "--include-hidden-areas needs an ATA drive that reports its native maximum "
            "address (READ NATIVE MAX ADDRESS); nothing was written",
            target=device.node,
            remedy="wipe without --include-hidden-areas (the certificate records what is known)",
        )
    if not hidden.hpa_sectors:
        yield
        return
    commands = executor or IoctlExecutor(device.fd, device.node)
    _set_max(device, commands, hidden.native - 1)
    try:
        expected = hidden.native * device.logical_block_size
        if device.size != expected:
            raise TargetError(
                f"the kernel reports {device.size} bytes after the HPA was opened, not "
                f"{expected}; nothing was written",
                target=device.node,
                remedy="wipe without --include-hidden-areas",
            )
        device.drive = replace(
            device.drive, profile=replace(profile, hidden=replace(hidden, exposed=True))
        )
        yield
    finally:
        _set_max(device, commands, hidden.visible - 1)


def _set_max(device: OpenDevice, commands: CommandExecutor, max_lba: int) -> None:
    """Volatile SET MAX ADDRESS EXT to ``max_lba``, then the kernel's capacity re-read."""
    command = ata.set_max_ext(max_lba, volatile=True)
    ata.registers(commands.execute(command), command, device.node)
    commands.execute(RescanCommand())
    device.size = ioctl_u64(device.fd, BLKGETSIZE64)
