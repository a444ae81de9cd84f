"""Replaying a tree's plan with several small files in flight at once.

Destroying a small file is a handful of syncs (each pass, each rename of its name, the
unlink), not bandwidth: so up to ``IN_FLIGHT`` files of a tree are destroyed at the same
time, each in its own thread with its own descriptor of its folder, and each keeps its
own order (content durable before the renames, renames durable before the unlink). A
folder is acted on only once everything planned inside it is done; large files are
written one at a time, since the disk's bandwidth, not syncs, bounds them.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from expunge.core.errors import ExpungeError
from expunge.shred import files
from expunge.shred.tree import Node, Skip, replay
from expunge.workflows.certify.outcomes import FileOutcome
from expunge.workflows.destroy.plan import TargetPlan
from expunge.workflows.destroy.request import PlannedFile

if TYPE_CHECKING:
    from expunge.workflows.destroy.run import FileDestroyer

# Three: on a 2-core machine, 4,000 files took 12.0 s with 3, 12.8-13.6 s with 4 and
# 12.6-12.8 s with 2, alternating, and 10,000 files 29.8-30.5 s with 3, 30.0-31.4 s with 4
# (each blocking call hands the interpreter lock to another thread, and more threads mean
# more handoffs: system time 16 s with 3, 18 s with 4);
# earlier, before start-up and the run log's journals were cut, 3,000 files took 8.8 s
# with 4, 10.1 s with 2 or 8 and 11.6 s with 16.
IN_FLIGHT = 3
ALONE_FROM = 64 << 20


@dataclass(frozen=True)
class _Done:
    """What became of one file of the tree."""

    node: Node
    outcome: FileOutcome | None = None
    left: str | None = None
    error: str | None = None


class TreeRun:
    """One tree's replay: what was destroyed, removed, left alone, and why."""

    def __init__(self, destroyer: FileDestroyer, target: TargetPlan, in_flight: int = IN_FLIGHT):
        self.destroyer = destroyer
        self.target = target
        self.in_flight = in_flight
        self.planned = {f.path: f for f in target.chosen}
        self.declined = set(target.declined)
        self.outcomes: list[FileOutcome] = []
        self.removed: list[str] = []
        self.errors: list[str] = []
        self.left: list[str] = []
        # Folders (by parts) that must stay: something inside them stays.
        self.dirty: set[tuple[str, ...]] = set()
        self._pending: list[Future[_Done]] = []

    def keep_folder_of(self, node: Node) -> None:
        """Mark every folder holding ``node`` as staying."""
        parts = node.folder
        for length in range(len(parts) + 1):
            self.dirty.add(parts[:length])

    def replay(self, dir_fd: int) -> None:
        """Act on every planned entry, files several at a time, folders once emptied."""
        assert self.target.tree is not None
        with ThreadPoolExecutor(self.in_flight, thread_name_prefix="expunge-file") as pool:
            try:
                for step in replay(self.target.tree, dir_fd):
                    if self.destroyer.stopped:
                        self.dirty.add(())
                        break
                    node = step.node
                    if isinstance(step, Skip):
                        self.left.append(f"{node.path}: {step.reason}")
                        self.keep_folder_of(node)
                    elif node.kind == "file":
                        self._submit(pool, step.dir_fd, node)
                    else:
                        self._drain()
                        self._entry(step.dir_fd, node)
            finally:
                self._drain()

    def _submit(self, pool: ThreadPoolExecutor, dir_fd: int, node: Node) -> None:
        if node.path in self.declined:
            self.keep_folder_of(node)
            return
        planned = self.planned[node.path]
        if planned.size >= ALONE_FROM:
            self._drain()
            self._apply(self._file(os.dup(dir_fd), node, planned))
            return
        # Its own descriptor of the folder: the replay moves on and closes its own.
        self._pending.append(pool.submit(self._file, os.dup(dir_fd), node, planned))
        while len(self._pending) > 2 * self.in_flight:
            self._apply(self._pending.pop(0).result())

    def _drain(self) -> None:
        while self._pending:
            self._apply(self._pending.pop(0).result())

    def _apply(self, done: _Done) -> None:
        if done.outcome is not None:
            self.outcomes.append(done.outcome)
        if done.left is not None:
            self.left.append(done.left)
        if done.error is not None:
            self.errors.append(done.error)
        if done.outcome is None or not done.outcome.wipe.removed:
            self.keep_folder_of(done.node)

    def _file(self, dir_fd: int, node: Node, planned: PlannedFile) -> _Done:
        """Destroy one planned file (in a worker thread); never raises for the file."""
        try:
            if self.destroyer.stopped:
                return _Done(node)
            options = self.destroyer.request.file_options
            with files.open_file_at(dir_fd, node.name, node.path, options) as opened:
                ident = opened.identity
                if not planned.is_object(ident.device, ident.inode):
                    return _Done(
                        node, left=f"{node.path}: replaced since it was checked; left alone"
                    )
                return _Done(node, self.destroyer.destroy_file(opened))
        except ExpungeError as exc:
            return _Done(node, error=exc.diagnostics())
        except OSError as exc:
            return _Done(node, error=f"{node.path}: {exc.strerror}")
        finally:
            os.close(dir_fd)

    def _entry(self, dir_fd: int, node: Node) -> None:
        """A folder once its content is done, or a symlink or other special entry."""
        try:
            if self.destroyer.request.keep or node.parts in self.dirty:
                self.keep_folder_of(node)
            elif node.kind == "other":
                files.remove_other(dir_fd, node.name)
                self.removed.append(node.path)
            else:
                files.remove_directory(dir_fd, node.name)
                self.removed.append(node.path)
        except ExpungeError as exc:
            self.errors.append(exc.diagnostics())
            self.keep_folder_of(node)
        except OSError as exc:
            self.errors.append(f"{node.path}: {exc.strerror}")
            self.keep_folder_of(node)

    def remove_top(self, parent_fd: int, name: str) -> None:
        """Remove the emptied top folder itself."""
        path = self.target.path
        try:
            files.remove_directory(parent_fd, name)
            self.removed.append(path)
        except OSError as exc:
            self.errors.append(f"{path}: not removed: {exc.strerror}")
