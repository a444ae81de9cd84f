"""``destroy`` of registered documents and ``sweep`` of expired ones, inside generated
hazardous trees, plain or killed at a random system call (issue [2/8]).

The documents are the only targets: every other name of the tree (files, symlinks, FIFOs,
hard links, bind mounts) and the whole outside tree stay byte-identical, with their modes
and mtimes. After the run, ``recover`` and the next command (``destroy`` again, or the
next sweep), each document is destroyed exactly once, by a certificate that verifies and
names it, unless its name sits in an immutable folder (then it is untouched and still
registered); a document not yet due stays untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import needs_root, run_cli
from tests.support.hazards import (
    HARNESS,
    Entry,
    Scene,
    TreeSpec,
    build,
    document_trees,
    kills,
    no_traceback,
    recover,
    register,
    registrable,
    run,
    snapshot,
    station,
    stuck,
    violations,
)

NOW = "2028-06-01T00:00:00Z"


def _protected(scene: Scene, targets: list[bytes]) -> dict[bytes, Entry]:
    """Everything but the documents: the outside tree whole, the tree's non-folders (a
    folder's mtime moves when a document in it goes)."""
    inside = snapshot(scene.tree, skip=tuple(scene.mounts))
    kept = {p: e for p, e in inside.items() if e.kind != "dir" and p not in targets}
    return {**snapshot(scene.outside), **kept}


def _check(
    scene: Scene,
    spec: TreeSpec,
    home: Path,
    protected: dict[bytes, Entry],
    due: dict[str, bytes],
    kept: dict[str, bytes] | None = None,
) -> None:
    """The invariants, with ``due`` the documents to destroy and ``kept`` those not due."""
    targets = {path: scene.files[path] for path in due.values()}
    found = violations(home, scene, protected, targets, {**due, **(kept or {})})
    assert not found, f"{spec.describe()}\n" + "\n".join(found)
    for doc, path in due.items():
        assert os.path.lexists(path) == stuck(scene, path), f"{doc} {path!r}"


@needs_root
@pytest.mark.slow
@settings(HARNESS, max_examples=5)
@given(spec=document_trees(3), count=st.integers(1, 3), kill=kills)
def test_destroy_of_documents_in_a_hazardous_tree_touches_nothing_else(
    tmp_path_factory: pytest.TempPathFactory,
    spec: TreeSpec,
    count: int,
    kill: tuple[str, int] | None,
) -> None:
    folder = tmp_path_factory.mktemp("destroy")
    home = station(folder)
    with build(spec, folder) as scene:
        chosen = registrable(scene)[:count]
        docs = {register(home, path): path for path in chosen}
        protected = _protected(scene, chosen)
        first, *rest = docs
        run(["destroy", first, "--yes"], home, kill)
        recover(home)
        for doc in [first, *rest]:
            if os.path.lexists(docs[doc]):
                again = run_cli("destroy", doc, "--yes", home=home)
                no_traceback(again)
        _check(scene, spec, home, protected, docs)


@needs_root
@pytest.mark.slow
@settings(HARNESS, max_examples=4)
@given(
    spec=document_trees(3),
    due=st.lists(st.sampled_from(["until", "policy", "later"]), max_size=3),
    kill=kills,
)
def test_sweep_of_expired_documents_in_a_hazardous_tree_destroys_only_them(
    tmp_path_factory: pytest.TempPathFactory,
    spec: TreeSpec,
    due: list[str],
    kill: tuple[str, int] | None,
) -> None:
    folder = tmp_path_factory.mktemp("sweep")
    home = station(folder)
    # Documents registered without a date expire by the policy's retention.
    (home / "policy.toml").write_text('[retention]\ninternal = "365d"\n')
    with build(spec, folder) as scene:
        chosen = registrable(scene)[: len(due)]
        extra = {
            "until": ["--retain-until", "2027-01-01"],
            "policy": [],
            "later": ["--retain-until", "2099-01-01"],
        }
        registered = {
            register(home, path, *extra[kind]): (path, kind)
            for path, kind in zip(chosen, due, strict=True)
        }
        expired = {doc: path for doc, (path, kind) in registered.items() if kind != "later"}
        protected = _protected(scene, list(expired.values()))
        run(["sweep", "--now", NOW], home, kill)
        recover(home)
        # The next sweep finishes what a killed one left.
        again = run_cli("sweep", "--now", NOW, home=home)
        no_traceback(again)
        later = {doc: path for doc, (path, kind) in registered.items() if kind == "later"}
        _check(scene, spec, home, protected, expired, later)
