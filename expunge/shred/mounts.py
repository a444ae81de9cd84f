"""The process's mount table (``/proc/self/mountinfo``), parsed once and read again only
when the kernel says it changed.

Every file a run checks asks which mount it is on; parsing the table for each of 10,000
files cost more than their overwrite. The kernel signals each change of the table on an
open descriptor of it (``poll`` answers ``POLLPRI``), so the parsed table is kept, and the
signal, asked before every use, decides whether it is read again: a mount that appears in
the middle of a run is seen by the next question, as before.
"""

from __future__ import annotations

import os
import re
import select
import threading
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class MountFacts:
    """One mount from ``/proc/self/mountinfo``: ``fstype`` as the kernel lists it
    (``ext3``, ``fuseblk``, ``fuse.fusefat``), ``options`` per-mount and superblock ones."""

    mount_id: int
    mount_point: str
    fstype: str
    options: frozenset[str]
    source: str
    devnum: str = ""


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def parse_mounts(text: str) -> tuple[MountFacts, ...]:
    """Every mount listed in the text of a mountinfo file, in mount order."""
    found = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        tail = right.split()
        if len(fields) < 6 or len(tail) < 2 or not fields[0].isdigit():
            continue
        options = set(fields[5].split(","))
        if len(tail) > 2:
            options.update(tail[2].split(","))
        found.append(
            MountFacts(
                int(fields[0]),
                _unescape(fields[4]),
                tail[0],
                frozenset(options),
                _unescape(tail[1]),
                fields[2],
            )
        )
    return tuple(found)


class _Table:
    """The parsed table of this process and the descriptor that signals its changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watch: select.poll | None = None
        self._fd = -1
        self._pid = -1
        self._mounts: tuple[MountFacts, ...] | None = None
        self.generation = 0

    def mounts(self) -> tuple[MountFacts, ...]:
        with self._lock:
            if self._pid != os.getpid():
                # A forked child has its own table (maybe its own namespace): start over.
                self._open()
            if self._mounts is None or self._changed():
                # Read after the signal was taken: a change from here on signals again.
                self._mounts = parse_mounts(MOUNTINFO.read_text(errors="surrogateescape"))
                self.generation += 1
            return self._mounts

    def _open(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._pid = os.getpid()
        self._mounts = None
        self._watch = None
        try:
            self._fd = os.open(MOUNTINFO, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return  # no signal to wait for: the table is read every time
        self._watch = select.poll()
        self._watch.register(self._fd, select.POLLPRI)

    def _changed(self) -> bool:
        if self._watch is None:
            return True
        return any(events & (select.POLLPRI | select.POLLERR) for _, events in self._watch.poll(0))


_TABLE = _Table()


def read_mounts(mountinfo: Path = MOUNTINFO) -> tuple[MountFacts, ...]:
    """Every mount in a mountinfo file, in mount order: the process's own table (the
    default) as it is now, without parsing it again when it has not changed."""
    if mountinfo == MOUNTINFO:
        return _TABLE.mounts()
    return parse_mounts(mountinfo.read_text(errors="surrogateescape"))


def generation() -> int:
    """A number that changes whenever the process's mount table changes: facts about a
    mounted filesystem kept under it (its data mode, its medium) are still true while it
    stays the same, since they change only with a mount, an unmount or a remount."""
    _TABLE.mounts()
    return _TABLE.generation
