"""The files a path rule matches, found through directory descriptors inside its root."""

from __future__ import annotations

import fnmatch
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime

from expunge.core import clock
from expunge.shred import files, folders
from expunge.workflows.sweep.policy import PathRule


@dataclass(frozen=True)
class Match:
    path: str
    file_id: tuple[int, int]
    dir_id: tuple[int, int]


def _matches(relative: str, glob: str) -> bool:
    # "**/" also matches no folder at all, as in most glob dialects.
    if fnmatch.fnmatchcase(relative, glob):
        return True
    return glob.startswith("**/") and fnmatch.fnmatchcase(relative, glob[3:])


def walk_rule(rule: PathRule, now: datetime) -> list[Match]:
    """Files under the rule's root matching its glob and older than its maximum age,
    found through directory descriptors (no symlink is ever followed)."""
    options = files.FileOptions()
    parent_fd, dir_fd, _ = folders.open_tree(rule.root, options)
    found: list[Match] = []
    try:
        for entry in folders.walk_tree(dir_fd, rule.root, options):
            if entry.kind != "file":
                continue
            relative = os.path.relpath(entry.path, rule.root)
            if not _matches(relative, rule.glob):
                continue
            st = os.stat(entry.name, dir_fd=entry.dir_fd, follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                continue
            modified = datetime.fromtimestamp(st.st_mtime, UTC)
            if clock.add_duration(modified, rule.max_age, "max_age") > now:
                continue
            folder = os.fstat(entry.dir_fd)
            found.append(Match(entry.path, (st.st_dev, st.st_ino), (folder.st_dev, folder.st_ino)))
    except OSError as exc:
        raise files.target_error(exc, rule.root) from None
    finally:
        os.close(dir_fd)
        os.close(parent_fd)
    return found


def changed_since_walk(match: Match) -> str | None:
    """Why the path no longer leads to the file the walk found inside the root, if so:
    its folder (reached by name, as the destruction will) and the file are compared by
    ``(st_dev, st_ino)``."""
    try:
        folder = os.stat(os.path.dirname(match.path))
        st = os.stat(match.path, follow_symlinks=False)
    except OSError as exc:
        return f"no longer there: {exc.strerror}"
    if (folder.st_dev, folder.st_ino) != match.dir_id:
        return "its folder was replaced since the walk (a symlink?); not followed"
    if (st.st_dev, st.st_ino) != match.file_id:
        return "the file was replaced since the walk; left alone"
    return None
