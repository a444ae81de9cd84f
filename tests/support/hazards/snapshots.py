"""Snapshots of a folder (never following a symlink) and what changed between two."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One name as seen by ``lstat``: its kind, mode, mtime and content (or link text)."""

    kind: str
    mode: int
    mtime_ns: int
    content: str


def snapshot(root: bytes, *, skip: tuple[bytes, ...] = ()) -> dict[bytes, Entry]:
    """Every name below ``root`` (never following a symlink, never entering ``skip``)."""
    found: dict[bytes, Entry] = {}
    pending = [root]
    while pending:
        folder = pending.pop()
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            found.update(entry(path))
            if found[path].kind == "dir" and path not in skip:
                pending.append(path)
    return found


def changes(
    before: dict[bytes, Entry], after: dict[bytes, Entry], *, folder_times: bool = True
) -> list[str]:
    """What changed between two snapshots: names gone or added, content, mode or mtime."""
    found = []
    for path, was in before.items():
        now = after.get(path)
        if now is None:
            found.append(f"{path!r}: removed")
        elif now != was and (folder_times or was.kind != "dir" or now.kind != "dir"):
            found.append(f"{path!r}: was {was}, now {now}")
    found += [f"{path!r}: appeared" for path in after.keys() - before.keys()]
    return found


def entry(path: bytes) -> dict[bytes, Entry]:
    """The snapshot of the one name ``path``."""
    st_ = os.lstat(path)
    if stat.S_ISREG(st_.st_mode):
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        return {path: Entry("file", st_.st_mode, st_.st_mtime_ns, digest)}
    if stat.S_ISLNK(st_.st_mode):
        return {path: Entry("link", st_.st_mode, st_.st_mtime_ns, os.readlink(path).hex())}
    kind = "dir" if stat.S_ISDIR(st_.st_mode) else "other"
    return {path: Entry(kind, st_.st_mode, st_.st_mtime_ns, "")}
