"""Folders opened and walked by descriptor: never through a link, never into another mount.

Subdirectories are opened by name relative to their parent's descriptor with
``O_NOFOLLOW`` and checked by ``(st_dev, st_ino)`` against their ``lstat``. A mount point
is told by its mount ID, not only by ``st_dev``: a bind mount of a folder of the same
filesystem has the same device number, and following it would destroy files outside the
tree.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from expunge.core.errors import RefusedError, TargetError
from expunge.shred import fsinfo, resolve
from expunge.shred.oserror import kind_of, target_error
from expunge.shred.tree import open_folder

if TYPE_CHECKING:  # files re-exports this module's walk for its callers
    from expunge.shred.files import FileOptions

_OTHER_MOUNT = "unmount it, or pass --cross-filesystems"


@dataclass(frozen=True)
class TreeEntry:
    """One step of a tree walk; ``dir_fd`` is valid until the walk moves on.

    ``dir`` entries come after everything inside them (post-order), so the caller can
    remove a directory once it is empty.
    """

    kind: Literal["file", "other", "dir"]
    dir_fd: int
    name: str
    path: str


def open_tree(path: str, options: FileOptions) -> tuple[int, int, str]:
    """Open the directory at ``path`` for a recursive wipe: ``(parent_fd, dir_fd, name)``.

    The path is resolved without following links (``resolve``). Refuses ``/`` and every
    mount point (bind mounts included), by identity rather than by name.
    """
    if os.path.abspath(path) == "/":
        raise RefusedError("is the root directory", target=path, remedy="name what to destroy")
    parent, name = resolve.split(path)
    parent_fd = resolve.open_dir(parent, shown=path)
    try:
        try:
            before = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        except OSError as exc:
            raise target_error(exc, path) from exc
        if stat.S_ISLNK(before.st_mode):
            raise TargetError(
                f"is a symbolic link to {os.readlink(name, dir_fd=parent_fd)}",
                target=path,
                remedy="name the directory it points to, if that is what you mean",
            )
        if not stat.S_ISDIR(before.st_mode):
            raise TargetError(f"is {kind_of(before.st_mode)}", target=path)
        dir_fd = open_folder(parent_fd, name, path, (before.st_dev, before.st_ino))
        try:
            root = os.stat("/")
            if (before.st_dev, before.st_ino) == (root.st_dev, root.st_ino):
                raise RefusedError("is the root directory", target=path, remedy="never")
            if fsinfo.on_another_mount(dir_fd, parent_fd):
                raise RefusedError(
                    "is a mount point (a filesystem or a bind mount)",
                    target=path,
                    remedy="wipe the drive, or name a folder inside",
                )
        except BaseException:
            os.close(dir_fd)
            raise
        return parent_fd, dir_fd, name
    except BaseException:
        os.close(parent_fd)
        raise


def walk_tree(dir_fd: int, path: str, options: FileOptions) -> Iterator[TreeEntry]:
    """Every entry below the open directory ``dir_fd``, files first, directories after.

    A subdirectory on another mount (another filesystem, or a bind mount) is refused
    unless ``cross_filesystems``.
    """
    for name in sorted(os.listdir(dir_fd)):
        child_path = os.path.join(path, name)
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode):
            yield TreeEntry("file", dir_fd, name, child_path)
            continue
        if not stat.S_ISDIR(st.st_mode):
            yield TreeEntry("other", dir_fd, name, child_path)
            continue
        child_fd = open_folder(dir_fd, name, child_path, (st.st_dev, st.st_ino))
        try:
            if fsinfo.on_another_mount(child_fd, dir_fd) and not options.cross_filesystems:
                raise RefusedError(
                    "is a mount point (another filesystem, or a bind mount of a folder "
                    "from elsewhere)",
                    target=child_path,
                    remedy=_OTHER_MOUNT,
                )
            yield from walk_tree(child_fd, child_path, options)
        finally:
            os.close(child_fd)
        yield TreeEntry("dir", dir_fd, name, child_path)
