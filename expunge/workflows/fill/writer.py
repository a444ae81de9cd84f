"""Filling the free space: files written until the filesystem is full, rewritten in place
by the later passes, and read back.

The first pass creates ``fill-NNNNNN.bin`` files in the fill folder and writes the pass's
stream into them in MiB-sized chunks; near the end the chunks halve down to one block, so
the last blocks fill too. Each file is synced and journaled when it is done, so a resumed
fill continues from the last durable file. Later passes overwrite each file in place with
the overwrite engine, as ``shred`` overwrites a file. Each file gets its own random stream
(the pass key and the file's number, through BLAKE3): no two files hold the same bytes.
"""

from __future__ import annotations

import errno
import mmap
import os
from dataclasses import dataclass

import blake3

from expunge.core.errors import MediaIOError, TargetError
from expunge.core.progress import ProgressSink, StopRequest
from expunge.shred.overwrite import PassOptions, WriteBuffer, write_pass
from expunge.shred.patterns import PassPattern
from expunge.verify import VerificationReport, VerifyOptions, make_plan, verify_fd
from expunge.workflows.fill.state import FillFile, FillJournal
from expunge.workflows.fill.target import FillTarget

CHUNK_BYTES = 4 << 20
MIN_WRITE = 512
"""The smallest write tried when the filesystem is nearly full: one sector."""
FILE_NAME = "fill-{:06d}.bin"
_FLAGS = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def file_pattern(pattern: PassPattern, number: int) -> PassPattern:
    """Fill file ``number``'s pattern: a random pass's key, derived for that file."""
    if pattern.kind == "fixed" or pattern.key is None:
        return pattern
    derived = blake3.blake3(f"expunge fill file {number}".encode(), key=pattern.key).digest()
    return PassPattern.random(derived)


@dataclass
class Filler:
    """Writes the fill of one filesystem into its fill folder (open as ``folder_fd``)."""

    folder_fd: int
    target: FillTarget
    journal: FillJournal
    progress: ProgressSink
    stop: StopRequest | None

    @property
    def stopped(self) -> bool:
        """A stop was requested."""
        return self.stop is not None and self.stop.is_set()

    def first_pass(self, pattern: PassPattern) -> bool:
        """Fill the free space with files; False when stopped before it was full."""
        task = f"{self.target.mountpoint} fill"
        self._drop_unjournaled()
        self.progress.start(task, self.target.free or 0, "pass 1")
        try:
            while not self.journal.record.full:
                if self.stopped:
                    return False
                self._next_file(pattern, task)
            return True
        finally:
            self.progress.finish(task)

    def _drop_unjournaled(self) -> None:
        """Remove fill files a killed run created but never journaled (their content was
        never known durable); the fill writes them again."""
        known = {f.name for f in self.journal.record.files}
        for name in os.listdir(self.folder_fd):
            if name not in known:
                os.unlink(name, dir_fd=self.folder_fd)

    def _next_file(self, pattern: PassPattern, task: str) -> None:
        record = self.journal.record
        files = record.files
        resuming = record.last_open and bool(files)
        number = len(files) - 1 if resuming else len(files)
        start = files[-1].size if resuming else 0
        name = FILE_NAME.format(number)
        flags = _FLAGS | (0 if resuming else os.O_CREAT | os.O_EXCL)
        try:
            fd = os.open(name, flags, 0o600, dir_fd=self.folder_fd)
        except OSError as exc:
            if exc.errno in _FULL:
                self.journal.update(full=True, last_open=False)
                return
            raise _io_error(self.target, "cannot create a fill file", exc) from exc
        try:
            size, ended = self._write(fd, file_pattern(pattern, number), start, task)
            _sync(fd, self.target)
        finally:
            os.close(fd)
        kept = [*files[:number], FillFile(name, size)] if size else list(files[:number])
        if not size:
            os.unlink(name, dir_fd=self.folder_fd)
        # A full file is not yet a full filesystem: ext4 keeps blocks back for a file's
        # extent tree that a new file can still take. Full is when a file takes nothing.
        self.journal.update(
            files=tuple(kept),
            full=ended == "full" and size == start,
            last_open=ended == "stopped" and size > 0,
        )

    def _write(self, fd: int, pattern: PassPattern, offset: int, task: str) -> tuple[int, str]:
        """Write from ``offset`` until the file's maximum (``max``), until the filesystem
        takes no more (``full``) or a stop (``stopped``); the file's size, and which."""
        stream = pattern.stream()
        unit = MIN_WRITE
        chunk = CHUNK_BYTES
        buffer = mmap.mmap(-1, CHUNK_BYTES)
        try:
            while offset < self.target.max_file:
                if self.stopped:
                    return offset, "stopped"
                length = min(chunk, self.target.max_file - offset)
                view = memoryview(buffer)[:length]
                stream.fill(view, offset)
                try:
                    written = os.pwrite(fd, view, offset)
                except OSError as exc:
                    if not self._full(exc):
                        raise _io_error(self.target, "writing a fill file failed", exc) from exc
                    written = 0
                finally:
                    view.release()
                offset += written
                self.progress.advance(task, written)
                if written < length:
                    # Nearly full: smaller writes fill the last free blocks.
                    if chunk <= unit:
                        return offset, "full"
                    chunk = max(unit, chunk // 2 // unit * unit)
            return offset, "max"
        finally:
            buffer.close()

    def _full(self, exc: OSError) -> bool:
        # fusefat answers EPERM once the disk is full (after a short write).
        return exc.errno in _FULL or (
            exc.errno == errno.EPERM and self.target.fstype.startswith("fuse.")
        )

    def rewrite(self, pattern: PassPattern, index: int) -> bool:
        """Pass ``index`` (2 or more): every fill file overwritten in place; False when
        stopped (the journal says from which file to go on)."""
        files = self.journal.record.files
        task = f"{self.target.mountpoint} fill"
        buffer = WriteBuffer()
        try:
            for number in range(self.journal.record.file_index, len(files)):
                if self.stopped:
                    return False
                entry = files[number]
                fd = os.open(entry.name, _FLAGS, dir_fd=self.folder_fd)
                try:
                    options = PassOptions(
                        block_size=self.target.block_size,
                        progress=self.progress,
                        task=task,
                        stop=self.stop,
                    )
                    result = write_pass(
                        fd, entry.size, file_pattern(pattern, number), index, buffer, options
                    )
                finally:
                    os.close(fd)
                if result.interrupted:
                    return False
                if not result.complete:
                    raise MediaIOError(
                        f"pass {index} could not rewrite {entry.name}: {result.error}",
                        target=self.target.mountpoint,
                        remedy="check the medium; resume with --resume",
                    )
                self.journal.update(file_index=number + 1)
            return True
        finally:
            buffer.close()

    def verify(
        self, pattern: PassPattern, verify: VerifyOptions
    ) -> tuple[tuple[int, VerificationReport], ...]:
        """Read every fill file back against the final pass: one seed and one block size
        for all, so the certificate can describe them as one sample space."""
        files = self.journal.record.files
        if not files:
            return ()
        first = make_plan(max(f.size for f in files), verify.mode, coverage=verify.coverage)
        reports = []
        base = 0
        for number, entry in enumerate(files):
            plan = make_plan(
                entry.size,
                verify.mode,
                coverage=verify.coverage,
                seed=first.seed,
                block_size=first.block_size if first.block_size <= entry.size else None,
            )
            fd = os.open(
                entry.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.folder_fd
            )
            try:
                report = verify_fd(
                    fd,
                    file_pattern(pattern, number),
                    plan,
                    progress=self.progress,
                    task=f"{self.target.mountpoint} verify",
                    stop=self.stop,
                    name=entry.name,
                )
            finally:
                os.close(fd)
            reports.append((base, report))
            base += entry.size
        return tuple(reports)


def _sync(fd: int, target: FillTarget) -> None:
    try:
        os.fdatasync(fd)
    except OSError as exc:
        raise _io_error(target, "syncing a fill file failed", exc) from exc


def _io_error(target: FillTarget, what: str, exc: OSError) -> TargetError | MediaIOError:
    text = f"{what}: {os.strerror(exc.errno or errno.EIO)}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return TargetError(text, target=target.mountpoint, remedy="run as root, or remount rw")
    return MediaIOError(
        text, target=target.mountpoint, remedy="check the medium; resume with --resume"
    )
