"""Sending commands to a drive: the one interface the sanitize flow talks to, and the
implementation that issues the kernel's ioctls.

``CommandExecutor.execute`` takes a ``DriveCommand`` and returns its ``Completion``; an
``OSError`` means the kernel refused to carry it (``ENOTTY``/``EINVAL``: this device has
no such interface, e.g. SG_IO on an NVMe namespace or NVMe ioctls on a USB stick).
Everything above this module builds bytes and reads bytes; only ``IoctlExecutor`` touches
the device, so the whole flow can run against a stand-in that simulates a drive.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
from pathlib import Path
from typing import Protocol

from expunge.drives.sanitize.commands import (
    NVME_IOCTL_ADMIN_CMD,
    BlockCommand,
    Completion,
    DriveCommand,
    NvmeAdminCommand,
    RescanCommand,
    ScsiCommand,
)

SG_IO = 0x2285
SG_DXFER_NONE = -1
SG_DXFER_TO_DEV = -2
SG_DXFER_FROM_DEV = -3
_SENSE_BYTES = 64


class CommandExecutor(Protocol):
    """Carries commands to one drive."""

    def execute(self, command: DriveCommand) -> Completion:
        """Send ``command``; its completion, or ``OSError`` when it cannot be sent."""


class _SgIoHdr(ctypes.Structure):
    """``struct sg_io_hdr`` (scsi/sg.h)."""

    _fields_ = [
        ("interface_id", ctypes.c_int),
        ("dxfer_direction", ctypes.c_int),
        ("cmd_len", ctypes.c_ubyte),
        ("mx_sb_len", ctypes.c_ubyte),
        ("iovec_count", ctypes.c_ushort),
        ("dxfer_len", ctypes.c_uint),
        ("dxferp", ctypes.c_void_p),
        ("cmdp", ctypes.c_void_p),
        ("sbp", ctypes.c_void_p),
        ("timeout", ctypes.c_uint),
        ("flags", ctypes.c_uint),
        ("pack_id", ctypes.c_int),
        ("usr_ptr", ctypes.c_void_p),
        ("status", ctypes.c_ubyte),
        ("masked_status", ctypes.c_ubyte),
        ("msg_status", ctypes.c_ubyte),
        ("sb_len_wr", ctypes.c_ubyte),
        ("host_status", ctypes.c_ushort),
        ("driver_status", ctypes.c_ushort),
        ("resid", ctypes.c_int),
        ("duration", ctypes.c_uint),
        ("info", ctypes.c_uint),
    ]


class IoctlExecutor:
    """Sends commands to the block device open as ``fd`` (named ``node``)."""

    def __init__(self, fd: int, node: str, sys_root: Path = Path("/sys")) -> None:
        self.fd = fd
        self.node = node
        self._sys_root = sys_root

    def execute(self, command: DriveCommand) -> Completion:
        """Issue ``command`` with the ioctl of its kind."""
        if isinstance(command, NvmeAdminCommand):
            return self._nvme(command)
        if isinstance(command, ScsiCommand):
            return self._sg_io(command)
        if isinstance(command, BlockCommand):
            fcntl.ioctl(self.fd, command.request, command.pack())
            return Completion()
        return self._rescan(command)

    def _nvme(self, command: NvmeAdminCommand) -> Completion:
        length = command.data_in or len(command.data_out)
        buffer = ctypes.create_string_buffer(command.data_out, length) if length else None
        address = ctypes.addressof(buffer) if buffer is not None else 0
        packed = bytearray(command.pack(address))
        # The ioctl returns the NVMe status field (0 on success), or -1 with errno.
        status = fcntl.ioctl(self.fd, NVME_IOCTL_ADMIN_CMD, packed, True)
        result = int.from_bytes(packed[68:72], "little")
        data = buffer.raw[: command.data_in] if buffer is not None and command.data_in else b""
        return Completion(status=status, result=result, data=data)

    def _sg_io(self, command: ScsiCommand) -> Completion:
        length = command.data_in or len(command.data_out)
        buffer = ctypes.create_string_buffer(command.data_out, length) if length else None
        cdb = ctypes.create_string_buffer(command.cdb, len(command.cdb))
        sense = ctypes.create_string_buffer(_SENSE_BYTES)
        header = _SgIoHdr(
            interface_id=ord("S"),
            dxfer_direction=SG_DXFER_FROM_DEV
            if command.data_in
            else (SG_DXFER_TO_DEV if command.data_out else SG_DXFER_NONE),
            cmd_len=len(command.cdb),
            mx_sb_len=_SENSE_BYTES,
            dxfer_len=length,
            dxferp=ctypes.addressof(buffer) if buffer is not None else None,
            cmdp=ctypes.addressof(cdb),
            sbp=ctypes.addressof(sense),
            timeout=command.timeout_ms,
        )
        fcntl.ioctl(self.fd, SG_IO, header, True)
        data = buffer.raw[: max(length - header.resid, 0)] if command.data_in and buffer else b""
        return Completion(
            status=header.status,
            data=data,
            sense=sense.raw[: header.sb_len_wr],
            host_status=header.host_status,
            driver_status=header.driver_status,
        )

    def _rescan(self, command: RescanCommand) -> Completion:
        rdev = os.fstat(self.fd).st_rdev
        path = self._sys_root / "dev/block" / f"{os.major(rdev)}:{os.minor(rdev)}" / "device/rescan"
        path.write_text("1")
        return Completion()
