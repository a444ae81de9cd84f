"""Linux native AIO (``io_submit``) through ctypes: many O_DIRECT reads in flight, one thread.

Sampled verification is thousands of small reads, each costing tens of microseconds of
device latency. Threads can overlap them, but every completion then competes for the GIL
with the hashing; native AIO queues a hundred reads with one system call and reaps their
completions with another, while a single Python thread hashes what has arrived. Only the
few calls needed are wrapped; where they are missing (another architecture, a kernel
without AIO, ``aio-max-nr`` exhausted) ``AioReader`` raises ``OSError`` and the caller
uses threads instead. With ``O_DIRECT`` the reads are asynchronous; without it the kernel
would perform them inside ``io_submit``, so callers only use this for ``O_DIRECT``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import sys
import threading
from collections.abc import Sequence

# io_setup, io_destroy, io_submit, io_getevents: the syscall numbers differ per architecture.
_SYSCALLS: dict[str, tuple[int, int, int, int]] = {
    "x86_64": (206, 207, 209, 208),
    "aarch64": (0, 1, 2, 4),
}
_IOCB_CMD_PREAD = 0


class _Iocb(ctypes.Structure):
    """``struct iocb`` (little-endian layout)."""

    _fields_ = [
        ("aio_data", ctypes.c_uint64),
        ("aio_key", ctypes.c_uint32),
        ("aio_rw_flags", ctypes.c_int32),
        ("aio_lio_opcode", ctypes.c_uint16),
        ("aio_reqprio", ctypes.c_int16),
        ("aio_fildes", ctypes.c_uint32),
        ("aio_buf", ctypes.c_uint64),
        ("aio_nbytes", ctypes.c_uint64),
        ("aio_offset", ctypes.c_int64),
        ("aio_reserved2", ctypes.c_uint64),
        ("aio_flags", ctypes.c_uint32),
        ("aio_resfd", ctypes.c_uint32),
    ]


class _Event(ctypes.Structure):
    """``struct io_event``."""

    _fields_ = [
        ("data", ctypes.c_uint64),
        ("obj", ctypes.c_uint64),
        ("res", ctypes.c_int64),
        ("res2", ctypes.c_int64),
    ]


def _syscall_numbers() -> tuple[int, int, int, int]:
    numbers = _SYSCALLS.get(platform.machine())
    if numbers is None or sys.byteorder != "little" or not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, "native AIO is not wired up for this platform")
    return numbers


class AioReader:
    """An AIO context with ``depth`` request slots; slot ``i`` is one read at a time."""

    def __init__(self, depth: int) -> None:
        self._setup, self._destroy, self._submit, self._getevents = _syscall_numbers()
        libc = ctypes.CDLL(None, use_errno=True)
        self._call = libc.syscall
        self._call.restype = ctypes.c_long
        self.depth = depth
        context = ctypes.c_ulong(0)
        if self._call(self._setup, ctypes.c_long(depth), ctypes.byref(context)) < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        self._context = context
        self._iocbs = (_Iocb * depth)()
        self._pointers = (ctypes.POINTER(_Iocb) * depth)()
        for slot in range(depth):
            self._pointers[slot] = ctypes.pointer(self._iocbs[slot])
            self._iocbs[slot].aio_data = slot
            self._iocbs[slot].aio_lio_opcode = _IOCB_CMD_PREAD
        self._batch = (ctypes.POINTER(_Iocb) * depth)()
        self._events = (_Event * depth)()
        self._open = True

    def submit(self, requests: Sequence[tuple[int, int, int, int, int]]) -> int:
        """Queue reads ``(slot, fd, address, length, offset)``; returns how many were queued.

        Fewer than given (possibly 0) when the kernel's queue is full (``EAGAIN``); other
        failures raise ``OSError``.
        """
        for index, (slot, fd, address, length, offset) in enumerate(requests):
            iocb = self._iocbs[slot]
            iocb.aio_fildes = fd
            iocb.aio_buf = address
            iocb.aio_nbytes = length
            iocb.aio_offset = offset
            self._batch[index] = self._pointers[slot]
        queued = self._call(self._submit, self._context, ctypes.c_long(len(requests)), self._batch)
        if queued < 0:
            code = ctypes.get_errno()
            if code == errno.EAGAIN:
                return 0
            raise OSError(code, os.strerror(code))
        return int(queued)

    def reap(self, minimum: int = 1) -> list[tuple[int, int]]:
        """Wait for at least ``minimum`` completions: ``(slot, result)``, where a negative
        result is ``-errno`` and a non-negative one the number of bytes read."""
        count = self._call(
            self._getevents,
            self._context,
            ctypes.c_long(minimum),
            ctypes.c_long(self.depth),
            self._events,
            None,
        )
        if count < 0:
            code = ctypes.get_errno()
            if code == errno.EINTR:
                return []
            raise OSError(code, os.strerror(code))
        return [(int(self._events[i].data), int(self._events[i].res)) for i in range(count)]

    def close(self, *, idle: bool = False) -> None:
        """Destroy the context; the kernel waits for reads still in flight to finish first.

        ``io_destroy`` waits for an RCU grace period, tens of milliseconds even when idle.
        With ``idle=True`` (the caller knows nothing is in flight, so its buffers are free
        already) that wait happens on a background thread instead of the caller's.
        """
        if not self._open:
            return
        self._open = False
        if idle:
            threading.Thread(
                target=self._call,
                args=(self._destroy, self._context),
                name="expunge-aio-destroy",
                daemon=True,
            ).start()
        else:
            self._call(self._destroy, self._context)


def buffer_address(buffer: object, size: int) -> int:
    """The address of a writable buffer (an ``mmap``); the buffer must outlive every read."""
    anchor = (ctypes.c_char * size).from_buffer(buffer)  # type: ignore[arg-type]
    address = ctypes.addressof(anchor)
    del anchor  # release the export so the mmap can be closed later
    return address
