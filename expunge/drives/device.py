"""The guarded open: a whole disk opened exclusively for writing, and proven, through the
open descriptor, to be the medium the operator confirmed.

``O_EXCL`` on a block device makes the kernel itself refuse while the disk or a partition
is mounted, used as swap or held by device-mapper/md, and keeps anyone from mounting it
while expunge holds it. Size and diskseq are then re-read through the descriptor, not by
name, so a different medium behind the same node (a re-plugged stick, a re-attached loop
image) is refused before a byte is written.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyudev

from expunge.core.blockdev import (
    BLKGETDISKSEQ,
    BLKGETSIZE64,
    BLKPBSZGET,
    BLKSSZGET,
    ioctl_int,
    ioctl_u64,
)
from expunge.core.errors import RefusedError, TargetError
from expunge.drives.discovery import device_by_rdev, drive_from_device, read_attr
from expunge.drives.interlocks import DriveRefused, identity_changes, interlock_reasons
from expunge.drives.model import Drive, Identity
from expunge.drives.system import MOUNTINFO, SWAPS, SYS, Usage, system_facts


class OpenDevice:
    """A whole disk opened exclusively for writing, with its identity re-read from the fd.

    ``direct`` says whether the kernel accepted ``O_DIRECT``; writes through ``fd`` must
    then be aligned to ``logical_block_size``. Close it (or use ``with``) when done.
    """

    def __init__(
        self,
        *,
        fd: int,
        drive: Drive,
        size: int,
        logical_block_size: int,
        physical_block_size: int,
        diskseq: int | None,
        direct: bool,
    ):
        self.fd = fd
        self.drive = drive
        self.node = drive.node
        self.size = size
        self.logical_block_size = logical_block_size
        self.physical_block_size = physical_block_size
        self.diskseq = diskseq
        self.direct = direct
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once ``close`` has run."""
        return self._closed

    def fileno(self) -> int:
        """The open descriptor."""
        return self.fd

    def close(self) -> None:
        """Release the descriptor (and with it the exclusive claim); safe to call twice."""
        if not self._closed:
            self._closed = True
            os.close(self.fd)

    def __enter__(self) -> OpenDevice:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_for_wipe(
    drive: Drive,
    confirmed: Identity,
    *,
    home: Path,
    allow_fixed: bool = False,
    include_virtual: bool = False,
    context: Any = None,
    mountinfo: Path = MOUNTINFO,
    swaps: Path = SWAPS,
    sys_root: Path = SYS,
) -> OpenDevice:
    """Open ``drive`` exclusively for writing, after proving it is what was confirmed.

    Raises RefusedError (nothing written, descriptor closed) when the kernel refuses the
    exclusive open (mounted, swap, held), when size, diskseq, serial or token differ from
    ``confirmed``, or when an interlock applies to facts re-read after opening.
    """
    if drive.node != confirmed.node:
        raise RefusedError(
            f"was confirmed as {confirmed.node}",
            target=drive.node,
            remedy="confirm the drive you mean to wipe again",
        )
    fd, direct = _open_exclusive(drive.node)
    try:
        seen = _Descriptor.read(fd, drive.node, sys_root)
        ctx = context if context is not None else pyudev.Context()
        fresh = drive_from_device(
            device_by_rdev(ctx, seen.rdev, drive.node), Usage.read(mountinfo, swaps, sys_root)
        )
        _refuse_if_changed(drive, confirmed, seen, fresh)
        system = system_facts(home, mountinfo=mountinfo, swaps=swaps, sys_root=sys_root)
        reasons = interlock_reasons(
            fresh, system, allow_fixed=allow_fixed, include_virtual=include_virtual
        )
        if reasons:
            raise DriveRefused(drive.node, reasons)
    except BaseException:
        os.close(fd)
        raise
    return OpenDevice(
        fd=fd,
        drive=fresh,
        size=seen.size,
        logical_block_size=seen.logical_block_size,
        physical_block_size=seen.physical_block_size,
        diskseq=seen.diskseq,
        direct=direct,
    )


@dataclass(frozen=True)
class _Descriptor:
    """What the open descriptor says of the device behind it (not what its name says)."""

    rdev: int
    devnum: str
    size: int
    diskseq: int | None
    logical_block_size: int
    physical_block_size: int

    @classmethod
    def read(cls, fd: int, node: str, sys_root: Path) -> _Descriptor:
        st = os.fstat(fd)
        if not stat.S_ISBLK(st.st_mode):
            raise TargetError("is not a block device", target=node, remedy="name a disk")
        devnum = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
        return cls(
            rdev=st.st_rdev,
            devnum=devnum,
            size=ioctl_u64(fd, BLKGETSIZE64),
            diskseq=_fd_diskseq(fd, devnum, sys_root),
            logical_block_size=ioctl_int(fd, BLKSSZGET),
            physical_block_size=ioctl_int(fd, BLKPBSZGET),
        )


def _refuse_if_changed(drive: Drive, confirmed: Identity, seen: _Descriptor, fresh: Drive) -> None:
    changes = identity_changes(
        confirmed, drive.devnum, fresh, devnum=seen.devnum, size=seen.size, diskseq=seen.diskseq
    )
    if changes:
        raise RefusedError(
            f"is not the drive that was confirmed ({'; '.join(changes)})",
            target=drive.node,
            remedy="the medium changed since confirmation: list drives and confirm again",
        )


def _open_exclusive(node: str) -> tuple[int, bool]:
    # O_DIRECT keeps the overwrite out of the page cache; where a device refuses it
    # (EINVAL), buffered writes with a sync after every pass still reach the medium.
    flags = os.O_RDWR | os.O_EXCL | os.O_CLOEXEC
    try:
        try:
            return os.open(node, flags | os.O_DIRECT), True
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            return os.open(node, flags), False
    except OSError as exc:
        raise _open_error(node, exc) from exc


def _open_error(node: str, exc: OSError) -> RefusedError | TargetError:
    if exc.errno == errno.EBUSY:
        return RefusedError(
            "in use: the kernel refused exclusive access (mounted, swap, held by "
            "device-mapper/LVM/md, or opened by another wipe)",
            target=node,
            remedy="unmount its filesystems, swapoff, close its holders, then retry",
        )
    if exc.errno == errno.EROFS:
        return RefusedError(
            "is read-only", target=node, remedy="release the write-protect switch or lock"
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return TargetError(
            "permission denied opening the device for writing",
            target=node,
            remedy="run as root or as a member of the disk group",
        )
    if exc.errno in (errno.ENOENT, errno.ENXIO, errno.ENODEV, errno.ENOMEDIUM):
        return TargetError(
            f"device or medium is gone ({exc.strerror})",
            target=node,
            remedy="reconnect the drive, list drives and confirm again",
        )
    return TargetError(
        f"cannot open the device: {exc.strerror}", target=node, remedy="check the device"
    )


def _fd_diskseq(fd: int, devnum: str, sys_root: Path) -> int | None:
    try:
        return ioctl_u64(fd, BLKGETDISKSEQ)
    except OSError as exc:
        if exc.errno not in (errno.ENOTTY, errno.EINVAL):
            raise
    value = read_attr(sys_root / "dev" / "block" / devnum, "diskseq")
    return int(value) if value and value.isdigit() else None
