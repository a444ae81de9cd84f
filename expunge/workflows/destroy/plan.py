"""Every check on every target, before the first byte is written: the plan of a shred.

A plan names every file to destroy (with the identity it had when checked), every folder
of every tree, the registered documents among them and what the operator declined
(``-i``). Nothing found after planning is ever acted on: the run replays the plan, and
what changed since is left alone and reported.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from expunge.core import paths
from expunge.core.clock import utc_now
from expunge.core.errors import RefusedError, TargetError
from expunge.shred import files
from expunge.shred.files import OpenFile
from expunge.shred.resume import pending_journal
from expunge.verify import make_plan
from expunge.workflows import records
from expunge.workflows.destroy.outcome import Destruction
from expunge.workflows.destroy.request import PlannedFile, ShredRequest

if TYPE_CHECKING:
    from expunge.shred.tree import Node, TreePlan

Confirm = Callable[[str], bool]


@dataclass(frozen=True)
class TargetPlan:
    """One top-level PATH: the file, or the tree and every file in it, as checked."""

    path: str
    kind: Literal["file", "directory"]
    files: tuple[PlannedFile, ...]
    tree: TreePlan | None = None
    declined: tuple[str, ...] = ()
    """Files the operator answered "no" for (``-i``): never touched."""
    recovered: Destruction | None = None
    """With ``--resume``: the destruction of this path, already finished by the recovery of
    the run that was interrupted; nothing is done again."""

    @property
    def chosen(self) -> tuple[PlannedFile, ...]:
        """The files to destroy."""
        declined = set(self.declined)
        return tuple(f for f in self.files if f.path not in declined)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as a dry run reports it: the shape of the destruction it plans
        (``Destruction.to_dict``), with what only a run can tell null or empty."""
        return {
            **paths.path_fields(self.path, "target"),
            "kind": self.kind,
            "status": "planned",
            "files": [f.to_dict() for f in self.chosen],
            "certificate": None,
            "certificate_outcome": None,
            "removed_entries": [],
            "skipped": [paths.readable(p) for p in self.declined],
            "errors": [],
            "left_alone": [],
            "ledger": None,
        }


@dataclass(frozen=True)
class ShredPlan:
    """Everything a shred will do, decided before anything is written."""

    request: ShredRequest
    targets: tuple[TargetPlan, ...]
    registered: Mapping[str, tuple[records.RegisteredLocation, ...]]

    @property
    def files(self) -> tuple[PlannedFile, ...]:
        """Every file planned, in order."""
        return tuple(f for t in self.targets for f in t.files)


def top_level_kind(path: str, recursive: bool) -> Literal["file", "directory"]:
    """Whether ``path`` names a file or a folder (a folder only with ``-r``)."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise files.target_error(exc, path) from exc
    if stat.S_ISDIR(st.st_mode):
        if not recursive:
            raise TargetError("is a directory", target=path, remedy="use -r to destroy it")
        return "directory"
    return "file"


def _refuse_home(path: str, home: Path | None) -> None:
    """expunge's own state (key, ledger, key store, journals) is never a target, nor any
    folder holding it: destroying it would destroy the proof of every destruction."""
    if home is None:
        return
    real = os.path.realpath(path)
    own = os.path.realpath(home)
    inside = real == own or real.startswith(own + os.sep)
    if inside or own.startswith(real.rstrip(os.sep) + os.sep):
        what = "is part of" if inside else "holds"
        raise RefusedError(
            f"{what} expunge's own state ({own}: station key, ledger, certificates); "
            "nothing was written",
            target=path,
            remedy="expunge never destroys its own home; name what to destroy outside it",
        )


class _Checker:
    """Checks each file as the walk reaches it and remembers what it planned."""

    def __init__(self, request: ShredRequest, journals: Path | None, home: Path | None):
        self.request = request
        self.journals = journals
        self.home = home
        self.home_id = _identity_of(home)
        self.planned: list[PlannedFile] = []

    def check(self, opened: OpenFile) -> None:
        """Every refusal for one opened file: its checks, a pending journal, the home."""
        with opened:
            ident = opened.identity
            if not self.request.keep:
                files.check_removable(opened.dir_fd, opened.name, opened.path)
            if self.journals is not None:
                # A pending or foreign journal refuses every path, before the first write.
                pending_journal(
                    self.journals,
                    opened.journal_target,
                    self.request.method,
                    resume=self.request.resume,
                    fd=opened.fd,
                )
            verify = self.request.verify
            make_plan(ident.size, verify.mode, coverage=verify.coverage)
            self.planned.append(
                PlannedFile(
                    opened.path,
                    ident.size,
                    ident.filesystem,
                    tuple(lim.code for lim in opened.limitations),
                    device=ident.device,
                    inode=ident.inode,
                )
            )

    def tree_file(self, folder_fd: int, node: Node) -> None:
        """``plan_tree``'s hook: check a file while its folder is open."""
        self.check(files.open_file_at(folder_fd, node.name, node.path, self.request.file_options))

    def tree_node(self, node: Node) -> None:
        """Refuse a tree that holds the home itself (by identity, whatever its path)."""
        if node.kind == "dir" and (node.dev, node.ino) == self.home_id:
            raise RefusedError(
                "holds expunge's own state (its home folder); nothing was written",
                target=node.path,
                remedy="expunge never destroys its home",
            )


def _identity_of(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _plan_target(path: str, checker: _Checker) -> TargetPlan:
    request = checker.request
    kind = top_level_kind(path, request.recursive)
    _refuse_home(path, checker.home)
    start = len(checker.planned)
    if kind == "file":
        checker.check(files.open_file(path, request.file_options))
        return TargetPlan(path, kind, tuple(checker.planned[start:]))
    # Imported here: a run of single files never loads the tree code.
    from expunge.shred import folders
    from expunge.shred.tree import plan_tree

    parent_fd, dir_fd, _ = folders.open_tree(path, request.file_options)
    try:
        tree = plan_tree(
            dir_fd,
            path,
            cross_filesystems=request.file_options.cross_filesystems,
            on_file=checker.tree_file,
        )
    finally:
        os.close(dir_fd)
        os.close(parent_fd)
    for node in tree.nodes:
        checker.tree_node(node)
    return TargetPlan(path, kind, tuple(checker.planned[start:]), tree)


def plan_shred(
    request: ShredRequest,
    ledger: records.LedgerLink | records.Deferred | None = None,
    *,
    home: Path | None = None,
    journals: Path | None = None,
    confirm: Confirm | None = None,
    recovered: Sequence[Destruction] = (),
) -> ShredPlan:
    """Check every target completely, writing nothing; raise the first refusal.

    Paths are made absolute first (certificates and the ledger name absolute paths). With
    ``ledger``, files recorded as documents are named, and a method or verification weaker
    than a document's classification requires is refused. ``home`` (expunge's own state)
    and anything holding it is refused. ``confirm`` (``-i``) is asked for every file once
    all checks passed; the files it declines are never touched. With ``--resume``, a path
    whose interrupted run was just finished by recovery (``recovered``) is not destroyed
    again: its recovered destruction stands. With a ``Deferred`` ledger (unreachable), no
    file can be told apart from a document: every file is hashed (delivery confirms the
    documents by that digest) and the method must satisfy every level of the policy.
    """
    request = replace(request, paths=tuple(os.path.abspath(p) for p in request.paths))
    if isinstance(ledger, records.Deferred):
        records.check_every_level(request.method, request.verify.mode, ledger.policy)
        request = replace(request, fingerprint=True)
    checker = _Checker(request, journals, home)
    finished = {d.target: d for d in recovered} if request.resume else {}
    targets = [
        TargetPlan(path, "file", (), recovered=finished[path])
        if path in finished
        else _plan_target(path, checker)
        for path in request.paths
    ]
    registered: dict[str, tuple[records.RegisteredLocation, ...]] = {}
    if isinstance(ledger, records.LedgerLink):
        found = records.locate(ledger.store, request.paths, utc_now())
        registered = {p.path: found[p.path] for p in checker.planned if p.path in found}
        records.check_policy(
            (loc for locs in registered.values() for loc in locs),
            request.method,
            request.verify.mode,
            ledger.policy,
        )
        targets = [
            replace(
                t,
                files=tuple(
                    replace(f, documents=tuple(loc.doc_id for loc in registered.get(f.path, ())))
                    for f in t.files
                ),
            )
            for t in targets
        ]
    if confirm is not None:
        targets = [
            replace(t, declined=tuple(f.path for f in t.files if not confirm(f.path)))
            for t in targets
        ]
    return ShredPlan(request, tuple(targets), registered)


def preflight(
    request: ShredRequest,
    ledger: records.LedgerLink | records.Deferred | None = None,
    home: Path | None = None,
) -> tuple[TargetPlan, ...]:
    """What a dry run reports: every check on every target, nothing written."""
    return plan_shred(request, ledger, home=home).targets
