"""``shred -r`` on generated hazardous trees, plain, killed at a random system call, and with
a nearly full home (issue [2/8]: tests that try to break the invariants).

Whatever the tree and the fault: nothing outside the tree changes (symlink targets, the
hard-link partner, a bind-mounted folder), every file is byte-identical or certified
destroyed, no journal is left once the run is finished, and the ledger agrees. A tree with
a trap that forbids the destruction (another hard link, a bind mount, an immutable folder)
is refused whole; any other tree is gone once the run (and, after a kill, the next one) ends.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import mounted_image, needs_root, run_cli
from tests.support.hazards import (
    HARNESS,
    TreeSpec,
    build,
    certificate_outcomes,
    kills,
    no_traceback,
    recover,
    register,
    registrable,
    run,
    snapshot,
    station,
    trees,
    violations,
)


def _fill(mount: Path, leave: int) -> None:
    """Fill the filesystem until about ``leave`` bytes are free."""
    free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    with open(mount / "filler", "wb") as f:
        remaining = free - leave
        while remaining > 0:
            try:
                f.write(b"\0" * min(remaining, 1 << 20))
                f.flush()
                os.fsync(f.fileno())
            except OSError:
                break
            remaining -= 1 << 20


def _shred_and_check(
    folder: Path, home: Path, spec: TreeSpec, docs: int, kill: tuple[str, int] | None
) -> None:
    with build(spec, folder) as scene:
        named = registrable(scene)[:docs]
        ids = {register(home, path): path for path in named}
        protected = snapshot(scene.outside)
        tree = os.fsdecode(scene.tree)
        code = run(["shred", "-r", tree], home, kill)
        if code == 0:
            # A run that says it succeeded issued nothing but success certificates.
            assert set(certificate_outcomes(home)) <= {"success"}, spec.describe()
        recover(home)
        if os.path.lexists(scene.tree):
            # The next command: a refusal again, or it finishes what the kill left.
            again = run_cli("shred", "-r", "--resume", tree, home=home)
            no_traceback(again)
        found = violations(home, scene, protected, dict(scene.files), ids)
        assert not found, f"{spec.describe()}\n" + "\n".join(found)
        if scene.hazardous:
            assert os.path.lexists(scene.tree), "a tree with a trap was acted on"
        else:
            assert not os.path.lexists(scene.tree), f"{spec.describe()}\nthe tree is still there"


@needs_root
@pytest.mark.slow
@settings(HARNESS, max_examples=8)
@given(spec=trees(), docs=st.integers(0, 2), kill=kills)
def test_shred_r_of_a_hazardous_tree_keeps_every_invariant(
    tmp_path_factory: pytest.TempPathFactory,
    spec: TreeSpec,
    docs: int,
    kill: tuple[str, int] | None,
) -> None:
    folder = tmp_path_factory.mktemp("shred")
    home = station(folder)
    _shred_and_check(folder, home, spec, docs, kill)


@needs_root
@pytest.mark.slow
@HARNESS
@given(spec=trees(max_leaves=5), free_kib=st.sampled_from([0, 6, 10, 16, 24, 48, 128]))
def test_shred_r_with_a_nearly_full_home_refuses_or_records(
    tmp_path_factory: pytest.TempPathFactory, spec: TreeSpec, free_kib: int
) -> None:
    folder = tmp_path_factory.mktemp("fullhome")
    with mounted_image(folder, "ext4", 8 << 20) as image:
        home = image.mount / "home"
        assert run_cli("key", "init", home=home).code == 0
        # A document registered before the home filled up, so the ledger must follow.
        with build(spec, folder) as scene:
            named = registrable(scene)[:1]
            ids = {register(home, path): path for path in named}
            protected = snapshot(scene.outside)
            _fill(image.mount, free_kib << 10)
            result = run_cli("shred", "-r", os.fsdecode(scene.tree), home=home)
            no_traceback(result)
            (image.mount / "filler").unlink()
            recover(home)
            found = violations(home, scene, protected, dict(scene.files), ids)
            assert not found, f"{spec.describe()}\n{result}\n" + "\n".join(found)
            if result.code == 4 and "nothing was written" in result.err:
                assert all(os.path.exists(p) for p in scene.files), result
