"""The hazard harness: generated trees full of traps, snapshots, and the invariants of [2/8].

A ``TreeSpec`` (drawn by ``trees()``) describes a folder whose entries have random byte
names (non-UTF-8, newlines, leading dashes) and hold files of 0..1 MiB, nested folders,
symlinks (inside the tree, out of it, dangling), FIFOs, hard links to a file *outside* the
tree, bind mounts of an outside folder and immutable (``chattr +i``) folders. ``build``
makes it next to a sibling ``outside`` folder that the traps point into; teardown lifts the
immutable flags and unmounts the binds, also when the test fails.

After a destroying command (and the next command's recovery), ``violations`` lists every
way the run broke its promise:

- a byte, mode or mtime outside the named targets changed (the outside tree, symlink
  targets, hard-link partners, and for ``destroy``/``sweep`` every file that is not a
  destroyed document);
- a target is neither byte-identical (with no certificate claiming it removed) nor gone
  and covered by a genuine certificate stating complete, verified passes over its size
  (and its registered digest, when it names a document);
- a journal or run log is left in the home;
- ``audit`` fails, or the ledger disagrees with the files: a gone document not recorded
  destroyed exactly once by a certificate naming it, or a present one recorded destroyed.
"""

from __future__ import annotations

from tests.support.hazards.checks import (
    Claim,
    certificate_outcomes,
    claims,
    ledger_entries,
    violations,
)
from tests.support.hazards.runs import (
    HARNESS,
    SYSCALLS,
    kills,
    no_traceback,
    recover,
    register,
    registrable,
    run,
    run_killed,
    run_signalled,
    station,
    stuck,
)
from tests.support.hazards.snapshots import Entry, changes, snapshot
from tests.support.hazards.trees import (
    BindNode,
    DirNode,
    FifoNode,
    FileFacts,
    FileNode,
    HardLinkNode,
    LinkNode,
    Node,
    Scene,
    TreeSpec,
    build,
    document_trees,
    names,
    sizes,
    trees,
)

__all__ = [
    "HARNESS",
    "SYSCALLS",
    "BindNode",
    "Claim",
    "DirNode",
    "Entry",
    "FifoNode",
    "FileFacts",
    "FileNode",
    "HardLinkNode",
    "LinkNode",
    "Node",
    "Scene",
    "TreeSpec",
    "build",
    "certificate_outcomes",
    "changes",
    "claims",
    "document_trees",
    "kills",
    "ledger_entries",
    "names",
    "no_traceback",
    "recover",
    "register",
    "registrable",
    "run",
    "run_killed",
    "run_signalled",
    "sizes",
    "snapshot",
    "station",
    "stuck",
    "trees",
    "violations",
]
