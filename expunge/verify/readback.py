"""Read a target back from the media and compare it with what the final pass wrote.

Each sample of a ``SamplePlan`` is read from the media, not from the page cache, hashed with
BLAKE3, and compared with the BLAKE3 hash of the expected content, recomputed from the
``PassPattern`` of the pass (a fixed pattern with its phase, or the AES-256-CTR keystream at
that offset).

Bypassing the page cache. The target is opened ``O_RDONLY | O_DIRECT | O_NOFOLLOW |
O_CLOEXEC`` (plus ``O_NONBLOCK``, so that a FIFO given by mistake cannot hang the open; it
has no effect on files and block devices) and read into page-aligned ``mmap`` buffers at
offsets and lengths aligned to 4096 bytes (or the plan's alignment if larger); a final
unaligned tail is read as the aligned range around it and sliced. Where the kernel refuses
``O_DIRECT`` (``EINVAL`` on open, or on the first read), verification falls back to:
``fdatasync`` on the caller's writable descriptor if one is given, else ``fsync`` on the
read descriptor; then ``posix_fadvise(POSIX_FADV_DONTNEED)`` over the target and again over
each range right before it is read with buffered I/O. The report records which method was
used (``O_DIRECT`` or ``fadvise-dontneed``).

Reading. Adjacent samples are grouped into reads of up to 4 MiB, and many reads are in
flight at once, which hides the per-request latency of small sampled reads (2,000 reads of
8 KiB take ~90 ms one after another, ~30 ms with a deep queue). With ``O_DIRECT`` the reads
go through Linux native AIO (``_aio``): one thread keeps up to 128 reads queued and hashes
what completes, while a helper thread recomputes expected hashes; without it (buffered
fallback, or no AIO on the platform) ``workers`` threads each read, hash and compare. The
first read always runs alone: it decides between ``O_DIRECT`` and the fallback.

A read error (``EIO``) or a short read is recorded against its samples as a mismatch with a
note, never raised; a failed multi-sample read is retried sample by sample so one bad
sector does not condemn its neighbours. Progress is reported to a ``ProgressSink`` from the
calling thread, in bytes of samples done; setting the optional ``stop`` event ends the run
early and the report says ``interrupted``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import math
import mmap
import os
import stat
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import blake3

from expunge.core.clock import utc_now
from expunge.core.errors import MediaIOError, TargetError
from expunge.core.progress import NULL_PROGRESS, ProgressSink
from expunge.shred.patterns import PassPattern, PatternStream
from expunge.verify._aio import AioReader, buffer_address
from expunge.verify.plan import SamplePlan
from expunge.verify.report import UNREADABLE_HASH, VerificationReport, sample_digest

DEFAULT_WORKERS = 4
"""Threads of the thread engine (buffered fallback, or no native AIO): reads in flight."""
MAX_READ_BYTES = 4 << 20
"""Adjacent samples are merged into one read up to this size (or one sample, if larger)."""
DIRECT_IO_ALIGN = 4096
"""O_DIRECT offsets and lengths are aligned to this (a multiple of any logical block size
up to 4096) or to the plan's alignment if that is larger."""

_AIO_ENABLED = True
"""Use native AIO for O_DIRECT reads where the platform has it (tests switch it off)."""
_AIO_MAX_DEPTH = 128
_AIO_BUFFER_BYTES = 32 << 20
"""Read buffers in flight at most: 128 small samples, or eight 4 MiB reads."""
_PROGRESS_INTERVAL = 0.05

_BLKGETSIZE64 = 0x80081272
_BLKSSZGET = 0x1268
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_REOPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK

# Sample states while a run is in progress.
_PENDING, _MATCH, _MISMATCH, _UNREADABLE = 0, 1, 2, 3


@dataclass(frozen=True)
class TargetIdentity:
    """Which object a target is: a file by ``(st_dev, st_ino)``, a block device by rdev."""

    kind: Literal["file", "block"]
    dev: int
    """``st_dev`` of a file; ``st_rdev`` (major/minor) of a block device."""
    ino: int = 0
    """``st_ino`` of a file; 0 for a block device."""

    @classmethod
    def from_stat(cls, st: os.stat_result) -> TargetIdentity:
        """The identity of a stat result (of a regular file or block device)."""
        if stat.S_ISBLK(st.st_mode):
            return cls("block", st.st_rdev, 0)
        return cls("file", st.st_dev, st.st_ino)

    def matches(self, st: os.stat_result) -> bool:
        """Whether ``st`` describes this object."""
        return self == TargetIdentity.from_stat(st)

    def __str__(self) -> str:
        if self.kind == "block":
            return f"block device {os.major(self.dev)}:{os.minor(self.dev)}"
        return f"file dev={self.dev} ino={self.ino}"


@dataclass(frozen=True)
class TargetInfo:
    """What ``probe_target`` learned: identity, size and logical block size."""

    path: str
    identity: TargetIdentity
    size: int
    logical_block_size: int


Identity = TargetIdentity | tuple[int, int]
"""An expected identity: a ``TargetIdentity``, or ``(st_dev, st_ino)`` of a regular file."""


def _as_identity(expected: Identity) -> TargetIdentity:
    if isinstance(expected, TargetIdentity):
        return expected
    dev, ino = expected
    return TargetIdentity("file", dev, ino)


def _target_error(name: str, exc: OSError) -> TargetError:
    code = exc.errno
    if code == errno.ENOENT:
        return TargetError("no such file or device", target=name, remedy="check the path")
    if code == errno.ELOOP:
        return TargetError(
            "is a symbolic link; verification never follows links",
            target=name,
            remedy="give the path of the file or device itself",
        )
    if code in (errno.EACCES, errno.EPERM):
        return TargetError(
            "permission denied",
            target=name,
            remedy="run as a user who may read it (root for drives)",
        )
    return TargetError(f"cannot open: {exc.strerror or exc}", target=name)


def _check_kind(name: str, st: os.stat_result) -> None:
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        raise TargetError(
            "is not a regular file or a block device",
            target=name,
            remedy="verify a file or a whole drive",
        )


def _check_identity(name: str, st: os.stat_result, expected: Identity | None) -> None:
    if expected is None:
        return
    want = _as_identity(expected)
    if not want.matches(st):
        raise TargetError(
            f"the object opened ({TargetIdentity.from_stat(st)}) is not the one expected ({want})",
            target=name,
            remedy="the target was replaced or renamed; nothing was verified",
        )


def _size_of(fd: int, st: os.stat_result) -> int:
    if stat.S_ISBLK(st.st_mode):
        raw = fcntl.ioctl(fd, _BLKGETSIZE64, b"\0" * 8)
        return int(struct.unpack("=Q", raw)[0])
    return st.st_size


def _logical_block_size(fd: int, st: os.stat_result) -> int:
    if stat.S_ISBLK(st.st_mode):
        raw = fcntl.ioctl(fd, _BLKSSZGET, b"\0" * 4)
        return int(struct.unpack("=i", raw)[0])
    return DIRECT_IO_ALIGN


def probe_target(path: str | os.PathLike[str]) -> TargetInfo:
    """Identity, size and logical block size of a file or block device, for planning.

    ``make_plan(info.size, mode, align=info.logical_block_size)`` then
    ``verify_path(path, pattern, plan, expect_identity=info.identity)``.
    """
    name = os.fspath(path)
    try:
        fd = os.open(name, _OPEN_FLAGS)
    except OSError as exc:
        raise _target_error(name, exc) from exc
    try:
        st = os.fstat(fd)
        _check_kind(name, st)
        try:
            size = _size_of(fd, st)
            lbs = _logical_block_size(fd, st)
        except OSError as exc:
            raise _target_error(name, exc) from exc
        return TargetInfo(name, TargetIdentity.from_stat(st), size, lbs)
    finally:
        os.close(fd)


def _errno_note(exc: OSError) -> str:
    code = exc.errno
    name = errno.errorcode.get(code, str(code)) if code is not None else "error"
    return f"{name}: {exc.strerror or exc}"


def _skipped(plan: SamplePlan, pattern: PassPattern) -> VerificationReport:
    moment = utc_now()
    return VerificationReport(
        mode=plan.mode,
        seed=plan.seed_hex,
        block_size=plan.block_size,
        align=plan.align,
        requested_coverage=plan.requested_coverage,
        target_size=plan.size,
        observed_size=None,
        pattern=pattern.label,
        blocks_planned=0,
        blocks_checked=0,
        bytes_checked=0,
        mismatches=(),
        read_errors=(),
        digest=sample_digest(()),
        cache_bypass="none",
        started=moment,
        ended=moment,
        duration_s=0.0,
        interrupted=False,
    )


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
    if plan.mode == "none":
        return _skipped(plan, pattern)
    name = os.fspath(path)
    started, clock = utc_now(), time.monotonic()
    try:
        fd = os.open(name, _OPEN_FLAGS | os.O_DIRECT)
        direct = True
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise _target_error(name, exc) from exc
        try:
            fd = os.open(name, _OPEN_FLAGS)
        except OSError as exc2:
            raise _target_error(name, exc2) from exc2
        direct = False
    try:
        st = os.fstat(fd)
        _check_kind(name, st)
        _check_identity(name, st, expect_identity)
        return _Run(
            fd, direct, st, name, pattern, plan, sync_fd, progress, task, stop, workers
        ).execute(started, clock)
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
    if plan.mode == "none":
        return _skipped(plan, pattern)
    started, clock = utc_now(), time.monotonic()
    try:
        st = os.fstat(fd)
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError as exc:
        raise _target_error(label, exc) from exc
    _check_kind(label, st)
    _check_identity(label, st, expect_identity)
    if sync_fd is None and flags & os.O_ACCMODE != os.O_RDONLY:
        sync_fd = fd
    proc = f"/proc/self/fd/{fd}"
    try:
        rfd = os.open(proc, _REOPEN_FLAGS | os.O_DIRECT)
        direct = True
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise _target_error(label, exc) from exc
        try:
            rfd = os.open(proc, _REOPEN_FLAGS)
        except OSError as exc2:
            raise _target_error(label, exc2) from exc2
        direct = False
    try:
        rst = os.fstat(rfd)
        _check_identity(label, rst, TargetIdentity.from_stat(st))
        return _Run(
            rfd, direct, rst, label, pattern, plan, sync_fd, progress, task, stop, workers
        ).execute(started, clock)
    finally:
        os.close(rfd)


def _pread_full(fd: int, view: memoryview, offset: int, unit: int) -> int:
    """Read ``len(view)`` bytes at ``offset`` unless the target ends first; bytes read."""
    got = 0
    total = len(view)
    while got < total:
        count = os.preadv(fd, [view[got:]], offset + got)
        if count == 0:
            break
        got += count
        if got % unit:  # an unaligned short read: the end of the target
            break
    return got


class _ExpectedHashes:
    """BLAKE3 hashes of the expected content of samples, per worker thread.

    For a fixed pattern the expected content of a sample depends only on its phase and
    length, so hashes are cached (``full`` of a zero pass computes one hash). For a random
    pass the keystream of a whole read is generated at once and hashed sample by sample.
    """

    def __init__(self, pattern: PassPattern, cache: dict[tuple[int, int], bytes]) -> None:
        self._pattern = pattern
        self._stream: PatternStream = pattern.stream()
        self._fixed = pattern.kind == "fixed"
        self._period = len(pattern.pattern) if self._fixed else 0
        self._cache = cache
        self._buffer = bytearray()
        self._base = -1
        self._end = -1

    def prepare(self, start: int, end: int) -> None:
        """Generate the expected bytes of ``[start, end)`` (random passes only)."""
        if self._fixed:
            return
        if len(self._buffer) < end - start:
            self._buffer = bytearray(end - start)
        self._stream.fill(memoryview(self._buffer)[: end - start], start)
        self._base, self._end = start, end

    def hash(self, offset: int, length: int) -> bytes:
        """Hash of the expected bytes of ``[offset, offset + length)``."""
        if self._fixed:
            key = (offset % self._period, length)
            digest = self._cache.get(key)
            if digest is None:
                if len(self._buffer) < length:
                    self._buffer = bytearray(length)
                view = memoryview(self._buffer)[:length]
                self._stream.fill(view, offset)
                digest = blake3.blake3(view).digest()
                self._cache[key] = digest
            return digest
        if not (self._base <= offset and offset + length <= self._end):
            self.prepare(offset, offset + length)
        rel = offset - self._base
        return blake3.blake3(memoryview(self._buffer)[rel : rel + length]).digest()


class _Run:
    """One verification of an open descriptor.

    The first read runs alone and decides between ``O_DIRECT`` and the fallback. The rest
    go through native AIO when reading ``O_DIRECT`` (one thread keeps up to 128 reads in
    flight and hashes what arrives, while a helper thread computes the expected hashes),
    else through worker threads that each read, hash and compare.
    """

    def __init__(
        self,
        fd: int,
        direct: bool,
        st: os.stat_result,
        name: str,
        pattern: PassPattern,
        plan: SamplePlan,
        sync_fd: int | None,
        progress: ProgressSink,
        task: str,
        stop: threading.Event | None,
        workers: int,
    ) -> None:
        self.fd = fd
        self.direct = direct
        self.name = name
        self.pattern = pattern
        self.plan = plan
        self.sync_fd = sync_fd
        self.progress = progress
        self.task = task
        self.stop = stop
        self.workers = max(1, workers)
        try:
            self.observed_size = _size_of(fd, st)
        except OSError as exc:
            raise _target_error(name, exc) from exc
        self.unit = math.lcm(DIRECT_IO_ALIGN, plan.align)
        count = plan.sample_count
        self.hashes: list[bytes | None] = [None] * count
        self.expected: list[bytes | None] = [None] * count
        self.state = bytearray(count)
        self.notes: dict[int, str] = {}
        self.done_bytes = [0] * (self.workers + 1)
        self.reported = 0
        self.last_report = 0.0
        self.abort = threading.Event()
        self.failure: list[BaseException] = []
        self.fixed_cache: dict[tuple[int, int], bytes] = {}
        self.groups = self._group()
        self.buffer_size = max((length for _, _, _, length in self.groups), default=0)

    # -- planning the reads -------------------------------------------------------------

    def _group(self) -> list[tuple[int, int, int, int]]:
        """Reads as ``(first sample, end sample, aligned offset, aligned length)``."""
        plan, unit = self.plan, self.unit
        offsets, block, size = plan.offsets, plan.block_size, plan.size
        limit = max(MAX_READ_BYTES, block)
        groups = []
        index, count = 0, len(offsets)
        while index < count:
            start = offsets[index]
            end = min(start + block, size)
            nxt = index + 1
            while nxt < count and offsets[nxt] == end and min(end + block, size) - start <= limit:
                end = min(end + block, size)
                nxt += 1
            aligned = start - start % unit
            groups.append((index, nxt, aligned, -(-end // unit) * unit - aligned))
            index = nxt
        return groups

    def _stopped(self) -> bool:
        return self.abort.is_set() or (self.stop is not None and self.stop.is_set())

    # -- the page-cache fallback ----------------------------------------------------------

    def _fall_back(self) -> None:
        """Switch to sync + ``POSIX_FADV_DONTNEED`` + buffered reads (before any worker)."""
        flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        fcntl.fcntl(self.fd, fcntl.F_SETFL, flags & ~os.O_DIRECT)
        self.direct = False
        self._drop_cache()

    def _drop_cache(self) -> None:
        try:
            if self.sync_fd is not None:
                os.fdatasync(self.sync_fd)
            else:
                os.fsync(self.fd)
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # EINVAL: the object cannot hold dirty data
                raise MediaIOError(
                    f"sync before read-back failed: {_errno_note(exc)}", target=self.name
                ) from exc
        try:
            os.posix_fadvise(self.fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError as exc:
            raise TargetError(
                f"cannot bypass the page cache (O_DIRECT refused, fadvise failed: "
                f"{_errno_note(exc)})",
                target=self.name,
                remedy="verification from cached pages would prove nothing",
            ) from exc

    def _read(self, view: memoryview, offset: int) -> int:
        if not self.direct:
            os.posix_fadvise(self.fd, offset, len(view), os.POSIX_FADV_DONTNEED)
        # An O_DIRECT read that stops at an unaligned count has met the end of the target.
        return _pread_full(self.fd, view, offset, self.unit if self.direct else 1)

    # -- checking samples ------------------------------------------------------------------

    def _evaluate(
        self,
        first: int,
        end: int,
        aligned: int,
        got: int,
        view: memoryview,
        expected: _ExpectedHashes,
        slot: int,
    ) -> None:
        """Compare samples ``[first, end)`` read as ``got`` bytes from ``aligned`` in ``view``."""
        plan = self.plan
        offsets, block, size = plan.offsets, plan.block_size, plan.size
        known = self.expected
        prepared = False
        done = 0
        for index in range(first, end):
            offset = offsets[index]
            length = min(block, size - offset)
            rel = offset - aligned
            done += length
            if got < rel + length:
                self.state[index] = _UNREADABLE
                self.notes[index] = (
                    f"short read: got {max(0, got - rel)} of {length} bytes "
                    f"(the target ends at byte {aligned + got})"
                )
                continue
            digest = blake3.blake3(view[rel : rel + length]).digest()
            self.hashes[index] = digest
            want = known[index]
            if want is None:
                if not prepared:
                    last = offsets[end - 1]
                    expected.prepare(offset, min(last + block, size))
                    prepared = True
                want = known[index] = expected.hash(offset, length)
            self.state[index] = _MATCH if digest == want else _MISMATCH
        self.done_bytes[slot] += done

    def _unreadable(self, first: int, end: int, exc: OSError, slot: int) -> None:
        plan = self.plan
        for index in range(first, end):
            self.state[index] = _UNREADABLE
            self.notes[index] = _errno_note(exc)
            self.done_bytes[slot] += plan.sample_length(plan.offsets[index])

    def _one_by_one(
        self, first: int, end: int, view: memoryview, expected: _ExpectedHashes, slot: int
    ) -> None:
        """After a failed read of several samples: read each alone, to find the bad ones."""
        plan = self.plan
        for index in range(first, end):
            offset = plan.offsets[index]
            sample_end = offset + plan.sample_length(offset)
            start = offset - offset % self.unit
            span = -(-sample_end // self.unit) * self.unit - start
            self._check(index, index + 1, start, span, view, expected, slot)

    def _check(
        self,
        first: int,
        end: int,
        aligned: int,
        length: int,
        view: memoryview,
        expected: _ExpectedHashes,
        slot: int,
        probe: bool = False,
    ) -> None:
        """Read samples ``[first, end)`` as one synchronous read and compare them."""
        try:
            got = self._read(view[:length], aligned)
        except OSError as exc:
            if probe and self.direct and exc.errno == errno.EINVAL:
                self._fall_back()
                self._check(first, end, aligned, length, view, expected, slot)
            elif end - first > 1:
                self._one_by_one(first, end, view, expected, slot)
            else:
                self._unreadable(first, end, exc, slot)
            return
        self._evaluate(first, end, aligned, got, view, expected, slot)

    # -- progress --------------------------------------------------------------------------

    def _report_progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_report < _PROGRESS_INTERVAL:
            return
        done = sum(self.done_bytes)
        if done > self.reported:
            self.progress.advance(self.task, done - self.reported)
            self.reported = done
        self.last_report = now

    # -- engine 1: worker threads ----------------------------------------------------------

    def _worker(self, slot: int, next_group: Callable[[], int], probe: bool = False) -> None:
        try:
            with mmap.mmap(-1, max(self.buffer_size, mmap.PAGESIZE)) as buffer:
                view = memoryview(buffer)
                try:
                    expected = _ExpectedHashes(self.pattern, self.fixed_cache)
                    while not self._stopped():
                        number = next_group()
                        if number >= len(self.groups):
                            break
                        first, end, aligned, length = self.groups[number]
                        self._check(first, end, aligned, length, view, expected, slot, probe)
                        if probe:
                            break
                finally:
                    view.release()
        except BaseException as exc:
            self.failure.append(exc)
            self.abort.set()

    def _run_threads(self, start: int) -> None:
        counter = itertools.count(start)
        threads = [
            threading.Thread(
                target=self._worker,
                args=(slot, counter.__next__),
                name=f"expunge-verify-{slot}",
                daemon=True,
            )
            for slot in range(min(self.workers, len(self.groups) - start))
        ]
        for thread in threads:
            thread.start()
        try:
            while alive := [thread for thread in threads if thread.is_alive()]:
                alive[0].join(_PROGRESS_INTERVAL)
                self._report_progress()
        finally:
            self.abort.set()
            for thread in threads:
                thread.join()

    # -- engine 2: native AIO --------------------------------------------------------------

    def _expect_ahead(self, start: int) -> None:
        """Helper thread: compute expected hashes in plan order while the reads are out."""
        try:
            expected = _ExpectedHashes(self.pattern, self.fixed_cache)
            offsets, block, size = self.plan.offsets, self.plan.block_size, self.plan.size
            known = self.expected
            for first, end, _, _ in itertools.islice(self.groups, start, None):
                if self._stopped():
                    return
                if known[end - 1] is not None:
                    continue
                last = offsets[end - 1]
                expected.prepare(offsets[first], min(last + block, size))
                for index in range(first, end):
                    if known[index] is None:
                        offset = offsets[index]
                        known[index] = expected.hash(offset, min(block, size - offset))
        except BaseException as exc:
            self.failure.append(exc)
            self.abort.set()

    def _run_aio(self, start: int) -> int:
        """Read groups from ``start`` with native AIO; returns the first group not handled
        (``len(groups)`` when done; less if AIO failed and threads must finish the job)."""
        groups = self.groups
        slot_size = max(self.buffer_size, self.unit)
        depth = max(4, min(_AIO_MAX_DEPTH, _AIO_BUFFER_BYTES // slot_size))
        depth = min(depth, len(groups) - start)
        try:
            reader = AioReader(depth)
        except OSError:
            return start
        helper = threading.Thread(
            target=self._expect_ahead, args=(start,), name="expunge-verify-expect", daemon=True
        )
        next_group = start
        try:
            with mmap.mmap(-1, depth * slot_size) as buffer:
                view = memoryview(buffer)
                base = buffer_address(buffer, depth * slot_size)
                expected = _ExpectedHashes(self.pattern, self.fixed_cache)
                free = list(range(depth))
                in_flight: dict[int, int] = {}
                helper.start()
                try:
                    while True:
                        if not self._stopped() and free and next_group < len(groups):
                            requests = []
                            for number in range(next_group, len(groups)):
                                if not free:
                                    break
                                buffer_slot = free.pop()
                                _, _, aligned, length = groups[number]
                                address = base + buffer_slot * slot_size
                                requests.append((buffer_slot, self.fd, address, length, aligned))
                            try:
                                queued = reader.submit(requests)
                            except OSError:
                                queued = 0
                            for buffer_slot, *_ in requests[queued:]:
                                free.append(buffer_slot)
                            for offset, (buffer_slot, *_) in enumerate(requests[:queued]):
                                in_flight[buffer_slot] = next_group + offset
                            next_group += queued
                        if not in_flight:
                            # all done, stopped, or AIO refused: threads take over the rest
                            reader.close(idle=True)
                            return next_group
                        for buffer_slot, result in reader.reap(1):
                            number = in_flight.pop(buffer_slot)
                            free.append(buffer_slot)
                            first, end, aligned, length = groups[number]
                            with view[
                                buffer_slot * slot_size : (buffer_slot + 1) * slot_size
                            ] as here:
                                self._complete(first, end, aligned, length, result, here, expected)
                        self._report_progress()
                finally:
                    reader.close()  # waits for reads still in flight: the buffer outlives them
                    view.release()
        finally:
            reader.close()
            self.abort.set()
            if helper.is_alive():
                helper.join()

    def _complete(
        self,
        first: int,
        end: int,
        aligned: int,
        length: int,
        result: int,
        view: memoryview,
        expected: _ExpectedHashes,
    ) -> None:
        slot = self.workers
        if result < 0:
            if end - first > 1:
                self._one_by_one(first, end, view, expected, slot)
            else:
                self._unreadable(first, end, OSError(-result, os.strerror(-result)), slot)
            return
        got = result
        if 0 < got < length and got % self.unit == 0:  # a short read before the end: go on
            with contextlib.suppress(OSError):  # past ``got``: recorded as short reads
                got += _pread_full(self.fd, view[got:length], aligned + got, self.unit)
        self._evaluate(first, end, aligned, got, view, expected, slot)

    # -- running ---------------------------------------------------------------------------

    def execute(self, started: datetime, clock: float) -> VerificationReport:
        plan = self.plan
        label = f"verify ({plan.mode}) {self.name}"
        self.progress.start(self.task, plan.bytes_planned, label)
        try:
            if self.groups and not self.direct:
                self._drop_cache()  # O_DIRECT refused at open
            if self.groups:
                # The first read runs alone: it decides between O_DIRECT and the fallback.
                self._worker(self.workers, lambda: 0, probe=True)
                if self.failure:
                    raise self.failure[0]
                start = 1
                if self.direct and _AIO_ENABLED and len(self.groups) > 1:
                    start = self._run_aio(start)
                    if self.failure:
                        raise self.failure[0]
                    self.abort.clear()
                if start < len(self.groups) and not self._stopped():
                    self._run_threads(start)
                if self.failure:
                    raise self.failure[0]
            self._report_progress(force=True)
        finally:
            self.progress.finish(self.task)
        return self._report(started, clock)

    def _report(self, started: datetime, clock: float) -> VerificationReport:
        plan = self.plan
        mismatches: list[int] = []
        errors: list[tuple[int, str]] = []
        records: list[tuple[int, bytes]] = []
        checked = checked_bytes = 0
        pending = False
        for index, (offset, size) in enumerate(plan.samples()):
            state = self.state[index]
            if state == _PENDING:
                pending = True
                continue
            if state == _UNREADABLE:
                mismatches.append(offset)
                errors.append((offset, self.notes[index]))
                records.append((offset, UNREADABLE_HASH))
                continue
            checked += 1
            checked_bytes += size
            if state == _MISMATCH:
                mismatches.append(offset)
            digest = self.hashes[index]
            assert digest is not None
            records.append((offset, digest))
        return VerificationReport(
            mode=plan.mode,
            seed=plan.seed_hex,
            block_size=plan.block_size,
            align=plan.align,
            requested_coverage=plan.requested_coverage,
            target_size=plan.size,
            observed_size=self.observed_size,
            pattern=self.pattern.label,
            blocks_planned=plan.sample_count,
            blocks_checked=checked,
            bytes_checked=checked_bytes,
            mismatches=tuple(mismatches),
            read_errors=tuple(errors),
            digest=sample_digest(records),
            cache_bypass="O_DIRECT" if self.direct else "fadvise-dontneed",
            started=started,
            ended=utc_now(),
            duration_s=time.monotonic() - clock,
            interrupted=pending,
        )


def expected_digest(plan: SamplePlan, pattern: PassPattern) -> str:
    """The report digest a successful verification of ``plan`` against ``pattern`` yields.

    Computed from the plan and the pattern alone, without the media: an auditor holding a
    certificate's seed and final pass can check the recorded digest.
    """
    expected = _ExpectedHashes(pattern, {})
    records: list[tuple[int, bytes]] = []
    for offset, size in plan.samples():
        records.append((offset, expected.hash(offset, size)))
    return sample_digest(records)
