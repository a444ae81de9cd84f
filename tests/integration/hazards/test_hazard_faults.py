"""``shred -r`` on a tree whose medium fails under it (issue [2/8]).

The tree lives on an ext4 filesystem on a loop device over the FUSE fault filesystem
(``tests/support/faultfs.py``). While the shred runs, the medium refuses writes in a drawn
byte range (bad sectors), or stops answering after a drawn number of bytes (a pulled
drive). A refused write leaves the old bytes, as real media do, so nothing the run did not
write can change. Then the medium answers again, the filesystem is mounted afresh,
``recover`` runs and the shred is run again with ``--resume``: the invariants must hold as
after any run, and the tree must be gone.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import need_tool, run_cli
from tests.support.faults import FaultyImage, MiB, serve_faulty_image
from tests.support.hazards import (
    HARNESS,
    TreeSpec,
    build,
    no_traceback,
    recover,
    snapshot,
    trees,
    violations,
)

SIZE = 48 * MiB

faults = st.one_of(
    st.builds(
        lambda start, length: {"write_errors": [[start, start + length]]},
        st.integers(0, 8 * MiB),  # where ext4 puts the first files of a small tree
        st.integers(4096, 4 * MiB),
    ),
    st.builds(lambda budget: {"fail_after_bytes": budget}, st.integers(0, 2 * MiB)),
)


def _mount(node: str, mount: Path) -> None:
    subprocess.run(["mount", node, str(mount)], check=True, capture_output=True)


def _umount(mount: Path) -> None:
    subprocess.run(["umount", str(mount)], check=False, capture_output=True)


@pytest.mark.slow
@settings(HARNESS, max_examples=4)
@given(spec=trees(hazards=False), injected=faults)
def test_shred_r_on_a_failing_medium_keeps_every_invariant(
    tmp_path_factory: pytest.TempPathFactory, spec: TreeSpec, injected: dict[str, object]
) -> None:
    folder = tmp_path_factory.mktemp("faults")
    with serve_faulty_image(folder, SIZE) as image:
        _run(folder, image, spec, injected)


def _run(folder: Path, image: FaultyImage, spec: TreeSpec, injected: dict[str, object]) -> None:
    node = image.loop()
    subprocess.run([need_tool("mkfs.ext4"), "-q", node], check=True, capture_output=True)
    mount = folder / "ext4"  # faultfs itself is mounted on folder/mnt
    mount.mkdir()
    _mount(node, mount)
    home = folder / "home"
    assert run_cli("key", "init", home=home).code == 0
    try:
        with build(spec, mount) as scene:
            protected = snapshot(scene.outside)
            os.sync()
            tree = os.fsdecode(scene.tree)
            image.set_faults(**injected)
            first = run_cli("shred", "-r", tree, home=home)
            no_traceback(first)
            image.set_faults()
            _umount(mount)
            _mount(node, mount)
            recover(home)
            if os.path.lexists(scene.tree):
                again = run_cli("shred", "-r", "--resume", tree, home=home)
                no_traceback(again)
            found = violations(home, scene, protected, dict(scene.files))
            assert not found, f"{spec.describe()}\n{injected}\n{first}\n" + "\n".join(found)
            assert not os.path.lexists(scene.tree), f"{spec.describe()}\n{injected}"
    finally:
        _umount(mount)
