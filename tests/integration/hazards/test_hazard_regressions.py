"""Small regression tests for the defects the hazard harness found (issue [2/8])."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support import run_cli
from tests.support.hazards import certificate_outcomes


def test_a_tree_of_empty_folders_is_removed_without_a_failed_certificate(tmp_path: Path) -> None:
    # It was "destroyed (0 files)", exit 0, with a signed certificate saying "failed".
    home = tmp_path / "home"
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "c").mkdir()
    done = run_cli("shred", "-r", tree, home=home)
    assert done.code == 0, done
    assert "no certificate: no file held data" in done.out
    assert not tree.exists()
    assert certificate_outcomes(home) == []


def test_a_non_utf8_name_is_registered_and_destroyed_losslessly(tmp_path: Path) -> None:
    # It was exit 7, "value cannot be canonicalized", after the ledger had been created.
    home = tmp_path / "home"
    assert run_cli("key", "init", home=home).code == 0
    raw = os.fsencode(tmp_path) + b"/minutes\xff.txt"
    with open(raw, "wb") as f:
        f.write(b"secret")
    done = run_cli(
        "ledger", "register", os.fsdecode(raw), "--classification", "internal", home=home
    )
    assert done.code == 0, done
    shredded = run_cli("shred", os.fsdecode(raw), home=home)
    assert shredded.code == 0, shredded
    assert not os.path.lexists(raw)
    assert run_cli("audit", home=home).code == 0
