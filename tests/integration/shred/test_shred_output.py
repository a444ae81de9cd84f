"""Output at scale (issue [3/8]): a summary by default, every file with -v, one line with -q."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from tests.support import run_cli

FILES = 40


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    for i in range(FILES):
        folder = tree / f"d{i % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:03d}.txt").write_bytes(os.urandom(1000 + i))
    return tree


def _subjects(home: Path) -> list[dict[str, object]]:
    (cert,) = (home / "certificates").glob("*.cert.json")
    payload = json.loads(base64.b64decode(json.loads(cert.read_bytes())["payload"]))
    return list(payload["subjects"])


def test_the_summary_counts_what_the_certificate_lists(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    home = tmp_path / "home"
    result = run_cli("shred", "-r", tree, home=home)
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0].startswith(f"destroyed: {tree} ({FILES} files, ")
    assert f"verified: {FILES} of {FILES} file(s) read back (nist)" in result.out
    notes = [line for line in lines if line.lstrip().startswith("note (")]
    assert len(notes) == len(set(notes)), "each distinct note once"
    assert all(f"({FILES} files)" in note for note in notes)
    assert len(lines) < 10, "a summary, not a line per file"
    assert len(_subjects(home)) == FILES


def test_verbose_lists_every_file_and_quiet_prints_the_certificate(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    home = tmp_path / "home"
    paths = sorted(str(p) for p in tree.rglob("*.txt"))
    verbose = run_cli("shred", "-r", "-v", tree, home=home)
    assert verbose.code == 0, verbose
    for path in paths:
        assert f"destroyed: {path} (" in verbose.out
    tree = _tree(tmp_path)
    quiet = run_cli("shred", "-r", "-q", tree, home=home)
    assert quiet.code == 0, quiet
    (line,) = quiet.out.splitlines()
    assert line.endswith(".cert.json") and Path(line).exists()
