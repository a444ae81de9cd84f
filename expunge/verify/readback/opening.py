"""Opening what is read back: a path without following links, or a descriptor reopened.

The target is opened ``O_RDONLY | O_DIRECT | O_NOFOLLOW | O_CLOEXEC`` (plus
``O_NONBLOCK``, so that a FIFO given by mistake cannot hang the open; it has no effect on
files and block devices), or without ``O_DIRECT`` where the kernel refuses it; the object
opened must be a regular file or a block device, and the one expected.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

from expunge.core.blockdev import open_direct, reopen_direct
from expunge.core.clock import utc_now
from expunge.core.progress import NULL_PROGRESS, ProgressSink
from expunge.shred.patterns import PassPattern
from expunge.verify.plan import SamplePlan, VerifyMode
from expunge.verify.readback.engine import DEFAULT_WORKERS, Request, read_back
from expunge.verify.readback.identity import (
    Identity,
    TargetIdentity,
    check_identity,
    check_kind,
    target_error,
)
from expunge.verify.readback.tally import skipped_report
from expunge.verify.report import VerificationReport

OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
"""How a target is opened by name: never through a link, never hanging on a FIFO."""
_REOPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK


def verify_path(
    path: str | os.PathLike[str],
    pattern: PassPattern,
    plan: SamplePlan,
    *,
    expect_identity: Identity | None = None,
    sync_fd: int | None = None,
    progress: ProgressSink = NULL_PROGRESS,
    task: str = "verify",
    stop: threading.Event | None = None,
    workers: int = DEFAULT_WORKERS,
) -> VerificationReport:
    """Verify the file or block device at ``path`` against ``pattern`` following ``plan``.

    The path is opened without following symlinks; if ``expect_identity`` is given (a
    ``TargetIdentity``, or ``(st_dev, st_ino)`` of a file), the opened object must be that
    one, else ``TargetError``. ``sync_fd`` is a writable descriptor of the target used to
    ``fdatasync`` when the page-cache fallback is needed. A plan of mode ``none`` opens
    nothing and returns a ``skipped`` report. Problems with the target itself (missing, wrong
    type, replaced) raise ``TargetError``; what is read and found goes into the report.
    """
    if plan.mode is VerifyMode.NONE:
        return skipped_report(plan, pattern)
    name = os.fspath(path)
    started, clock = utc_now(), time.monotonic()
    try:
        fd, direct = open_direct(name, OPEN_FLAGS)
    except OSError as exc:
        raise target_error(name, exc) from exc
    try:
        st = os.fstat(fd)
        check_kind(name, st)
        check_identity(name, st, expect_identity)
        request = Request(pattern, plan, progress, task, stop, workers)
        return read_back(fd, st, direct, name, sync_fd, request, started, clock)
    finally:
        os.close(fd)


def verify_fd(
    fd: int,
    pattern: PassPattern,
    plan: SamplePlan,
    *,
    expect_identity: Identity | None = None,
    sync_fd: int | None = None,
    progress: ProgressSink = NULL_PROGRESS,
    task: str = "verify",
    stop: threading.Event | None = None,
    workers: int = DEFAULT_WORKERS,
    name: str | None = None,
) -> VerificationReport:
    """Verify the file or block device open as ``fd`` (not closed, its flags untouched).

    Reads go through a fresh read-only ``O_DIRECT`` descriptor on the same object
    (``/proc/self/fd/N``), checked to be the same object as ``fd``; so ``fd`` may be the
    write-only descriptor that wrote the final pass, e.g. a file right before it is renamed
    and unlinked. If ``fd`` is writable and ``sync_fd`` is not given, ``fd`` is used to
    ``fdatasync`` when the page-cache fallback is needed.
    """
    label = name or f"fd {fd}"
    if plan.mode is VerifyMode.NONE:
        return skipped_report(plan, pattern)
    started, clock = utc_now(), time.monotonic()
    try:
        st = os.fstat(fd)
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError as exc:
        raise target_error(label, exc) from exc
    check_kind(label, st)
    check_identity(label, st, expect_identity)
    if sync_fd is None and flags & os.O_ACCMODE != os.O_RDONLY:
        sync_fd = fd
    try:
        rfd, direct = reopen_direct(fd, _REOPEN_FLAGS)
    except OSError as exc:
        raise target_error(label, exc) from exc
    try:
        rst = os.fstat(rfd)
        check_identity(label, rst, TargetIdentity.from_stat(st))
        request = Request(pattern, plan, progress, task, stop, workers)
        return read_back(rfd, rst, direct, label, sync_fd, request, started, clock)
    finally:
        os.close(rfd)
