"""Which program serves a FUSE mount, so that a known driver can be trusted as far as its
on-disk format allows, and any other FUSE filesystem refused.

A FUSE filesystem is whatever its server process does with the bytes. The server names
itself in the mount's subtype (``fuse.fusefat``) when its library passes one; servers of
block-device mounts (``fuseblk``, as ntfs-3g and exfat-fuse mount) usually do not, and
are then found as the process holding both ``/dev/fuse`` and the mount's source open.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from expunge.shred.mounts import MountFacts

PROC = Path("/proc")
_FUSE_DEVICE = os.makedev(10, 229)  # /dev/fuse


def _same_object(st: os.stat_result, wanted: os.stat_result) -> bool:
    if stat.S_ISBLK(wanted.st_mode):
        return stat.S_ISBLK(st.st_mode) and st.st_rdev == wanted.st_rdev
    return (st.st_dev, st.st_ino) == (wanted.st_dev, wanted.st_ino)


def _opens(pid_dir: Path, wanted: os.stat_result) -> tuple[bool, bool]:
    """Whether the process holds ``wanted`` open, and whether it holds ``/dev/fuse``."""
    source = fuse = False
    try:
        entries = list((pid_dir / "fd").iterdir())
    except OSError:  # gone, or another user's process
        return False, False
    for entry in entries:
        try:
            st = os.stat(entry)
        except OSError:
            continue
        source = source or _same_object(st, wanted)
        fuse = fuse or (stat.S_ISCHR(st.st_mode) and st.st_rdev == _FUSE_DEVICE)
    return source, fuse


def server_program(mount: MountFacts, proc: Path = PROC) -> str | None:
    """The program serving a FUSE ``mount``: its subtype, else the executable's name of
    the process holding the source and ``/dev/fuse``; None when it cannot be told (a
    source that is no file, another user's process, or several candidates)."""
    _, dot, subtype = mount.fstype.partition(".")
    if dot and subtype:
        return subtype
    try:
        wanted = os.stat(mount.source)
    except OSError:
        return None
    found: set[str] = set()
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit():
            continue
        holds_source, holds_fuse = _opens(pid_dir, wanted)
        if holds_source and holds_fuse:
            try:
                found.add(Path(os.readlink(pid_dir / "exe")).name)
            except OSError:
                continue
    return found.pop() if len(found) == 1 else None
