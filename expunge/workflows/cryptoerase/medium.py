"""Whether an in-place overwrite of a key-store file reaches the blocks that held a key.

The same checks as ``shred`` (``shred.files.limitations_of``), read through the open
descriptor. A key destroyed in place is gone from the medium only where they pass; where
one blocks (copy-on-write, data journaling, a network or unknown filesystem...), old
copies of the slot may survive; so may a key on flash media, whose controller may keep the
old page of an overwritten block (wear levelling), and one on a memory filesystem, whose
pages may have been swapped out. Each makes a crypto-erase Clear, not Purge, with the
limitation named. The other notes of ``shred`` (names in the journal, sparse files) do not
concern key material and are left out.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from expunge.core.atomic import fsync_dir
from expunge.core.errors import MediaIOError, TargetError
from expunge.shred import files
from expunge.shred.overwrite import PassOptions, run_passes
from expunge.shred.patterns import PassPattern
from expunge.shred.report import Limitation

# Not refusals for shred (an overwrite is Clear there anyway), but each leaves a way to
# read a destroyed key back: from the flash chips, or from swap.
_KEEPS_OLD_COPIES = frozenset({"flash-media", "memory-filesystem"})


@dataclass(frozen=True)
class InPlaceFacts:
    """The filesystem of a key-store file and what an in-place overwrite there can promise."""

    filesystem: str
    blocking: tuple[Limitation, ...]
    """Why old copies of an overwritten block may survive on the medium."""
    refused: tuple[Limitation, ...]
    """Those of ``blocking`` that ``shred`` refuses unless the user accepts them."""

    @property
    def reaches_blocks(self) -> bool:
        """An overwrite in place here replaces the only copy on the medium."""
        return not self.blocking


def in_place_facts(fd: int) -> InPlaceFacts:
    """The facts for the file open as ``fd`` (nothing is written)."""
    fstype, blocking, recorded = files.limitations_of(fd, os.fstat(fd))
    kept = tuple(lim for lim in recorded if lim.code in _KEEPS_OLD_COPIES)
    return InPlaceFacts(fstype, (*blocking, *kept), blocking)


def path_facts(path: str) -> InPlaceFacts:
    """``in_place_facts`` of the file at ``path`` (opened read-only, not followed)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        return in_place_facts(fd)
    finally:
        os.close(fd)


def open_own_file(path: Path, flags: int) -> int:
    """Open one of expunge's own files (never following a link); one line if it cannot."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise TargetError(
            f"cannot open it: {exc.strerror}",
            target=str(path),
            remedy="check the permissions of the home folder",
        ) from exc


def destroy_in_place(path: Path) -> str:
    """Overwrite the file ``path`` in place like ``shred`` (one random pass, synced), then
    truncate and remove it: for expunge's own files (an old key store, a plaintext whose
    copy could not be recorded). Returns the path."""
    fd = open_own_file(path, os.O_WRONLY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise TargetError(
                "is not a regular file",
                target=str(path),
                remedy="remove it by hand",
            )
        results = run_passes(fd, st.st_size, (PassPattern.random(),), PassOptions())
        if st.st_size and not all(r.complete for r in results):
            raise MediaIOError(
                "could not overwrite it",
                target=str(path),
                remedy="check the home's disk, then run the command again",
            )
        os.ftruncate(fd, 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink()
    fsync_dir(path.parent)
    return str(path)
