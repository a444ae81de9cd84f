"""A FUSE filesystem serving one image file that fails the way real media fail.

Run in the foreground as its own process (the ``faulty_image`` helper does this)::

    python tests/faults/faultfs.py BACKING MOUNTPOINT CONFIG

The mount shows two files: ``disk.img``, the image (its bytes live in ``BACKING``), and
``stats``, a JSON document counting what was served and injected. ``CONFIG`` is a JSON
object the test rewrites while the filesystem runs (atomically: temp file + rename); it is
re-read at every operation. Every key is optional:

``write_errors`` / ``read_errors``: ``[[start, end], ...]``
    a write (read) request overlapping a half-open byte range fails with EIO: bad sectors.
``lost_writes``: ``[[start, end], ...]``
    a write request overlapping the range is acknowledged but not stored: a medium (or a
    layer above it) that loses writes silently, which only reading back can reveal.
``flaky_writes``: ``[[start, end, times], ...]``
    the first ``times`` write requests overlapping the range fail with EIO, later ones
    succeed: a marginal medium that a retry gets through.
``fail_after_bytes``: ``N``
    once the write requests served since the config was loaded would exceed ``N`` bytes,
    the medium is gone: every read, write and fsync fails from then on (a pulled drive).
    No byte beyond the budget reaches the backing file.
``gone_errno``: ``"EIO"`` (default), ``"ENXIO"`` or ``"ENODEV"``
    what a gone medium answers.
``fsync_error`` / ``flush_error``: ``true``
    fsync (fdatasync) / flush (close) fail with EIO; the data written is kept.
``delay``: seconds
    slept before every read and write: a slow medium.
``serial``: any value
    ignored; the test helper changes it on every update so that rewriting the same faults
    still starts a new config (fresh counters).
``volatile``: ``true``
    writes are held in this process's memory (a disk's volatile write cache) and reach the
    backing file only at fsync. Killing this process is then a power cut: what was not
    synced is lost, exactly as on a disk without power-loss protection.

Counters of one config (flaky counts, the byte budget, the gone state) start afresh when
the config changes. Reading ``stats`` re-reads the config first and reports
``config_error`` if it was invalid (the previous faults then stay in force).

The mount uses ``direct_io``, so no kernel page cache sits between the caller and this
process: every write reaches us as it is made, and its error is the caller's at write
time, not later at writeback.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
import time
from dataclasses import dataclass
from typing import Any

from fuse import FUSE, FuseOSError, Operations

IMAGE = "/disk.img"
STATS = "/stats"
STATS_SIZE = 4096
GONE_ERRNOS = {"EIO": errno.EIO, "ENXIO": errno.ENXIO, "ENODEV": errno.ENODEV}
CONFIG_KEYS = frozenset(
    {
        "write_errors",
        "read_errors",
        "lost_writes",
        "flaky_writes",
        "fail_after_bytes",
        "gone_errno",
        "fsync_error",
        "flush_error",
        "delay",
        "volatile",
        "serial",
    }
)


def _overlaps(start: int, end: int, ranges: list[list[int]]) -> bool:
    return any(start < r[1] and r[0] < end for r in ranges)


@dataclass
class Faults:
    """One loaded config and the state it has accumulated since it was loaded."""

    raw: dict[str, Any]
    budget_used: int = 0
    gone: bool = False

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Faults:
        """Validate strictly: a typo in a test's config must not silently inject nothing."""
        unknown = set(raw) - CONFIG_KEYS
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        if raw.get("gone_errno", "EIO") not in GONE_ERRNOS:
            raise ValueError(f"gone_errno must be one of {sorted(GONE_ERRNOS)}")
        flaky = [list(r) for r in raw.get("flaky_writes", [])]
        return cls({**raw, "flaky_writes": flaky})

    def gone_error(self) -> FuseOSError:
        return FuseOSError(GONE_ERRNOS[self.raw.get("gone_errno", "EIO")])


class FaultFS(Operations):  # type: ignore[misc]
    """The image file and the stats file, with faults applied per request."""

    def __init__(self, backing: str, config: str) -> None:
        self.fd = os.open(backing, os.O_RDWR)
        self.size = os.fstat(self.fd).st_size
        self.config = config
        self.config_text = b""
        self.config_error: str | None = None
        self.faults = Faults.parse({})
        # Writes not yet synced when ``volatile`` is on, in order: (offset, data).
        self.pending: list[tuple[int, bytes]] = []
        self.counts = {
            "generation": 0,
            "writes": 0,
            "bytes_written": 0,
            "reads": 0,
            "write_errors": 0,
            "lost_writes": 0,
            "read_errors": 0,
            "fsyncs": 0,
            "fsync_errors": 0,
            "flushes": 0,
        }

    # -- configuration -------------------------------------------------------------------

    def reload(self) -> Faults:
        """Re-read the config; a changed text is a new config with fresh counters.

        The text is compared, not the file's mtime or inode: both can repeat when a test
        rewrites the config twice within a clock tick, and a missed change would serve the
        wrong faults. Reading a small file costs microseconds per request.
        """
        try:
            with open(self.config, "rb") as f:
                text = f.read()
        except FileNotFoundError:
            text = b"{}"
        if text != self.config_text:
            self.config_text = text
            try:
                self.faults = Faults.parse(json.loads(text))
                self.config_error = None
            except ValueError as exc:
                self.config_error = str(exc)
            self.counts["generation"] += 1
        return self.faults

    # -- the image -----------------------------------------------------------------------

    def _commit(self) -> None:
        for offset, data in self.pending:
            os.pwrite(self.fd, data, offset)
        self.pending.clear()
        os.fdatasync(self.fd)

    def _stats(self) -> bytes:
        body = {
            **self.counts,
            "config_error": self.config_error,
            "gone": self.faults.gone,
            "pending_bytes": sum(len(d) for _, d in self.pending),
        }
        return json.dumps(body).encode().ljust(STATS_SIZE)

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        now = time.time()
        base = {"st_uid": 0, "st_gid": 0, "st_atime": now, "st_mtime": now, "st_ctime": now}
        if path == "/":
            return {**base, "st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        if path == IMAGE:
            return {**base, "st_mode": stat.S_IFREG | 0o600, "st_nlink": 1, "st_size": self.size}
        if path == STATS:
            return {**base, "st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": STATS_SIZE}
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", IMAGE[1:], STATS[1:]]

    def open(self, path: str, flags: int) -> int:
        if path not in (IMAGE, STATS):
            raise FuseOSError(errno.ENOENT)
        return 0

    def truncate(self, path: str, length: int, fh: int | None = None) -> None:
        # The image has a fixed size, like a disk.
        raise FuseOSError(errno.EPERM)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        if path == STATS:
            self.reload()
            return self._stats()[offset : offset + size]
        faults = self.reload()
        time.sleep(faults.raw.get("delay", 0))
        self.counts["reads"] += 1
        end = min(offset + size, self.size)
        if faults.gone or _overlaps(offset, end, faults.raw.get("read_errors", [])):
            self.counts["read_errors"] += 1
            raise faults.gone_error() if faults.gone else FuseOSError(errno.EIO)
        data = bytearray(os.pread(self.fd, max(end - offset, 0), offset))
        for start, chunk in self.pending:
            lo, hi = max(start, offset), min(start + len(chunk), end)
            if lo < hi:
                data[lo - offset : hi - offset] = chunk[lo - start : hi - start]
        return bytes(data)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        if path != IMAGE:
            raise FuseOSError(errno.EACCES)
        faults = self.reload()
        time.sleep(faults.raw.get("delay", 0))
        self.counts["writes"] += 1
        end = offset + len(data)
        if end > self.size:
            raise FuseOSError(errno.ENOSPC)
        limit = faults.raw.get("fail_after_bytes")
        if limit is not None and faults.budget_used + len(data) > limit:
            faults.gone = True
        if faults.gone:
            self.counts["write_errors"] += 1
            raise faults.gone_error()
        if self._fails(faults, offset, end):
            self.counts["write_errors"] += 1
            raise FuseOSError(errno.EIO)
        faults.budget_used += len(data)
        if _overlaps(offset, end, faults.raw.get("lost_writes", [])):
            self.counts["lost_writes"] += 1
        elif faults.raw.get("volatile"):
            self.pending.append((offset, bytes(data)))
        else:
            os.pwrite(self.fd, data, offset)
        self.counts["bytes_written"] += len(data)
        return len(data)

    def _fails(self, faults: Faults, start: int, end: int) -> bool:
        if _overlaps(start, end, faults.raw.get("write_errors", [])):
            return True
        hit = False
        for flaky in faults.raw["flaky_writes"]:
            if start < flaky[1] and flaky[0] < end and flaky[2] > 0:
                flaky[2] -= 1
                hit = True
        return hit

    def fsync(self, path: str, datasync: int, fh: int) -> None:
        faults = self.reload()
        self.counts["fsyncs"] += 1
        if faults.gone or faults.raw.get("fsync_error"):
            self.counts["fsync_errors"] += 1
            raise faults.gone_error() if faults.gone else FuseOSError(errno.EIO)
        self._commit()

    def flush(self, path: str, fh: int) -> None:
        self.counts["flushes"] += 1
        if path == IMAGE and self.reload().raw.get("flush_error"):
            raise FuseOSError(errno.EIO)

    def release(self, path: str, fh: int) -> None:
        return None


def main(argv: list[str]) -> int:
    """Mount ``argv = [BACKING, MOUNTPOINT, CONFIG]`` in the foreground until unmounted."""
    if len(argv) != 3:
        print("usage: faultfs.py BACKING MOUNTPOINT CONFIG", file=sys.stderr)
        return 2
    backing, mountpoint, config = argv
    # One request at a time (nothreads): counters and "fail N times" are then deterministic
    # and need no locking.
    FUSE(
        FaultFS(backing, config),
        mountpoint,
        foreground=True,
        nothreads=True,
        direct_io=True,
        big_writes=True,
        max_write=1 << 20,
        fsname="faultfs",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
