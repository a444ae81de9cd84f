"""A directory tree planned before anything is written, then replayed to act on it.

``plan_tree`` walks the whole tree first, through directory descriptors, never following a
symlink: every refusal (a symlinked or swapped folder, another filesystem) is raised while
nothing has been written. ``replay`` walks the *plan* again, not the disk: each folder is
reopened by name from its parent and must still be the object planned (device and inode);
one that changed, or a mount that appeared on it since, is skipped with its whole subtree
and reported, never acted on. Entries that appeared after planning are never visited.

Both walks are iterative: a tree 1,200 folders deep is no deeper for the stack than one.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from expunge.core.errors import RefusedError
from expunge.shred.fsinfo import on_another_mount
from expunge.shred.oserror import target_error

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

Kind = Literal["file", "other", "dir"]
Parts = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Node:
    """One entry of a planned tree: what it was, where, and its identity when planned.

    ``parts`` are the names from the top folder down to the entry itself.
    """

    kind: Kind
    path: str
    parts: Parts
    dev: int
    ino: int

    @property
    def name(self) -> str:
        """The entry's own name in its folder."""
        return self.parts[-1]

    @property
    def folder(self) -> Parts:
        """The parts of the folder holding it (``()``: the top folder)."""
        return self.parts[:-1]


@dataclass(frozen=True)
class TreePlan:
    """A tree as planned: its top folder and every entry below it, in post-order (each
    folder after everything inside it, so it can be removed once emptied)."""

    path: str
    dev: int
    ino: int
    nodes: tuple[Node, ...]

    @property
    def files(self) -> tuple[Node, ...]:
        """The regular files of the tree, in walk order."""
        return tuple(n for n in self.nodes if n.kind == "file")


@dataclass(frozen=True)
class Visit:
    """A planned entry reached again, with the open folder that holds it."""

    node: Node
    dir_fd: int


@dataclass(frozen=True)
class Skip:
    """A planned entry not reached again, and why (a folder above it changed)."""

    node: Node
    reason: str


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def open_folder(parent_fd: int, name: str, path: str, expected: tuple[int, int]) -> int:
    """Open the folder ``name`` in ``parent_fd``; refused if it is not ``expected``."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise RefusedError(
                "was replaced by a symbolic link; not followed", target=path
            ) from exc
        raise target_error(exc, path) from exc
    if _identity(os.fstat(fd)) != expected:
        os.close(fd)
        raise RefusedError("was replaced by another folder or a mount; not followed", target=path)
    return fd


@dataclass
class _Frame:
    fd: int
    path: str
    parts: Parts
    identity: tuple[int, int]
    names: list[str]
    position: int = 0


def plan_tree(
    dir_fd: int,
    path: str,
    *,
    cross_filesystems: bool = False,
    on_file: Callable[[int, Node], None] | None = None,
) -> TreePlan:
    """Walk the open folder ``dir_fd`` (named ``path``) completely; refuse what cannot be
    destroyed safely before anything is written.

    A subfolder on another filesystem is refused unless ``cross_filesystems``; symlinks and
    other special files are planned as ``other`` entries (removed, never followed).
    ``on_file(folder_fd, node)`` is called for each regular file while its folder is open,
    to check it (and refuse) during the walk.
    """
    top = os.fstat(dir_fd)
    nodes: list[Node] = []
    stack = [_Frame(os.dup(dir_fd), path, (), _identity(top), sorted(os.listdir(dir_fd)))]
    try:
        while stack:
            frame = stack[-1]
            if frame.position == len(frame.names):
                stack.pop()
                os.close(frame.fd)
                if frame.parts:
                    nodes.append(Node("dir", frame.path, frame.parts, *frame.identity))
                continue
            name = frame.names[frame.position]
            frame.position += 1
            child = os.path.join(frame.path, name)
            parts = (*frame.parts, name)
            try:
                st = os.stat(name, dir_fd=frame.fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(st.st_mode):
                kind: Kind = "file" if stat.S_ISREG(st.st_mode) else "other"
                node = Node(kind, child, parts, *_identity(st))
                if kind == "file" and on_file is not None:
                    on_file(frame.fd, node)
                nodes.append(node)
                continue
            child_fd = open_folder(frame.fd, name, child, _identity(st))
            # By mount ID: a bind mount of a folder of the same filesystem has its st_dev.
            if not cross_filesystems and on_another_mount(child_fd, frame.fd):
                os.close(child_fd)
                raise RefusedError(
                    "is a mount point (another filesystem, or a bind mount of a folder from "
                    "elsewhere); nothing was written",
                    target=child,
                    remedy="unmount it, or pass --cross-filesystems",
                )
            stack.append(_Frame(child_fd, child, parts, _identity(st), []))
            try:
                stack[-1].names = sorted(os.listdir(child_fd))
            except OSError as exc:
                raise target_error(exc, child) from exc
    except BaseException:
        for frame in stack:
            os.close(frame.fd)
        raise
    return TreePlan(path, top.st_dev, top.st_ino, tuple(nodes))


def replay(plan: TreePlan, top_fd: int) -> Iterator[Visit | Skip]:
    """Every planned entry again, in plan order, with its folder reopened and checked.

    ``top_fd`` is the top folder, opened again by the caller and checked to be the one
    planned. A folder that can no longer be reopened as the object planned turns itself
    and everything under it into ``Skip`` entries; nothing else is ever visited.
    """
    folders = {n.parts: (n.dev, n.ino) for n in plan.nodes if n.kind == "dir"}
    chain: list[tuple[Parts, int]] = [((), top_fd)]
    broken: dict[Parts, str] = {}
    try:
        for node in plan.nodes:
            own = node.parts if node.kind == "dir" else node.folder
            blocked = next((broken[p] for p in _prefixes(own) if p in broken), None)
            if blocked is not None:
                yield Skip(node, blocked)
                continue
            while chain[-1][0] != node.folder[: len(chain[-1][0])] or len(chain[-1][0]) > len(
                node.folder
            ):
                os.close(chain.pop()[1])
            fd = chain[-1][1]
            failed = None
            while len(chain[-1][0]) < len(node.folder):
                parts = node.folder[: len(chain[-1][0]) + 1]
                where = os.path.join(plan.path, *parts)
                try:
                    fd = open_folder(chain[-1][1], parts[-1], where, folders[parts])
                except (RefusedError, OSError) as exc:
                    failed = f"{where} changed since it was planned ({exc}); left alone"
                    broken[parts] = failed
                    break
                chain.append((parts, fd))
            if failed is not None:
                yield Skip(node, failed)
                continue
            changed = _changed(fd, node)
            yield Visit(node, fd) if changed is None else Skip(node, changed)
    finally:
        for _, fd in chain[1:]:
            os.close(fd)


def _changed(dir_fd: int, node: Node) -> str | None:
    """Why ``node`` is not the entry planned any more, if so."""
    try:
        st = os.stat(node.name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        return f"no longer there ({exc.strerror}); left alone"
    if _identity(st) != (node.dev, node.ino):
        return "replaced since it was planned; left alone"
    return None


def _prefixes(parts: Parts) -> Iterator[Parts]:
    for length in range(1, len(parts) + 1):
        yield parts[:length]
