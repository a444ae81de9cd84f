"""Controls for the hazard harness: each check it makes fails when its invariant is broken.

A harness that cannot fail proves nothing; here every kind of violation is caused on
purpose (a changed byte, mode or mtime outside the tree, a file removed without a
certificate, a forged or foreign certificate, a journal left behind, a ledger that
disagrees) and must be reported, and one honest run must report nothing.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.support import run_cli
from tests.support.hazards import (
    DirNode,
    FileNode,
    TreeSpec,
    build,
    changes,
    register,
    snapshot,
    violations,
)

SPEC = TreeSpec(
    (
        FileNode(b"doc-0.txt", 5000),
        FileNode(b"bad\xffname", 10),
        DirNode(b"-rf", (FileNode(b"a\nb", 0), FileNode(b"big", 70000))),
    )
)


@pytest.fixture
def station(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    assert run_cli("key", "init", home=home).code == 0
    return home


@pytest.mark.parametrize("change", ["byte", "mode", "mtime", "removed"])
def test_the_snapshot_sees_every_change_outside(tmp_path: Path, change: str) -> None:
    with build(SPEC, tmp_path) as scene:
        before = snapshot(scene.outside)
        victim = os.path.join(scene.outside, b"bound", b"inner.bin")
        st = os.stat(victim)
        if change == "byte":
            with open(victim, "r+b") as f:
                first = f.read(1)
                f.seek(0)
                f.write(bytes([first[0] ^ 1]))
            os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))  # hide it from mtime
        elif change == "mode":
            os.chmod(victim, 0o600 if st.st_mode & 0o777 != 0o600 else 0o644)
        elif change == "mtime":
            os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
        else:
            os.unlink(victim)
        found = changes(before, snapshot(scene.outside))
        assert any(repr(victim) in line for line in found), found


def test_an_honest_shred_reports_nothing(tmp_path: Path, station: Path) -> None:
    with build(SPEC, tmp_path) as scene:
        doc = register(station, os.path.join(scene.tree, b"doc-0.txt"))
        protected = snapshot(scene.outside)
        done = run_cli("shred", "-r", os.fsdecode(scene.tree), home=station)
        assert done.code == 0, done
        docs = {doc: os.path.join(scene.tree, b"doc-0.txt")}
        assert violations(station, scene, protected, dict(scene.files), docs) == []


def test_a_file_gone_without_a_certificate_is_reported(tmp_path: Path, station: Path) -> None:
    with build(SPEC, tmp_path) as scene:
        protected = snapshot(scene.outside)
        gone = os.path.join(scene.tree, b"bad\xffname")
        os.unlink(gone)
        found = violations(station, scene, protected, dict(scene.files))
        assert found == [f"{gone!r}: gone without a genuine certificate of complete passes"]


def test_a_file_changed_but_present_is_reported(tmp_path: Path, station: Path) -> None:
    with build(SPEC, tmp_path) as scene:
        protected = snapshot(scene.outside)
        changed = os.path.join(scene.tree, b"-rf", b"big")
        with open(changed, "r+b") as f:
            f.write(b"\0")
        found = violations(station, scene, protected, dict(scene.files))
        assert found == [f"{changed!r}: changed but not destroyed"]


@pytest.mark.parametrize("forgery", ["foreign station", "edited payload"])
def test_a_certificate_that_does_not_verify_is_no_proof(
    tmp_path: Path, station: Path, forgery: str
) -> None:
    with build(SPEC, tmp_path) as scene:
        protected = snapshot(scene.outside)
        target = os.path.join(scene.tree, b"-rf", b"big")
        other = tmp_path / "other-home"
        done = run_cli("shred", os.fsdecode(target), home=other)
        assert done.code == 0, done
        (certificate,) = (other / "certificates").glob("*.cert.json")
        if forgery == "edited payload":
            # Re-signed by nobody: the station's own certificate with one field changed.
            (station / "certificates").mkdir(exist_ok=True)
            envelope = json.loads(certificate.read_bytes())
            payload = json.loads(base64.b64decode(envelope["payload"]))
            payload["notes"] = "edited"
            envelope["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
            shutil.copy(other / "station.key", station / "station.key")
            shutil.copy(other / "station.pub", station / "station.pub")
            certificate.write_text(json.dumps(envelope))
        (station / "certificates").mkdir(exist_ok=True)
        shutil.copy(certificate, station / "certificates" / certificate.name)
        found = violations(station, scene, protected, {target: scene.files[target]})
        assert found == [f"{target!r}: gone without a genuine certificate of complete passes"]


def test_a_journal_left_behind_is_reported(tmp_path: Path, station: Path) -> None:
    with build(SPEC, tmp_path) as scene:
        (station / "journal").mkdir(exist_ok=True)
        (station / "journal" / "stale.json").write_text("{}")
        found = violations(station, scene, snapshot(scene.outside), {})
        assert found == ["left in journal/: ['stale.json']"]


def test_a_ledger_that_disagrees_with_the_files_is_reported(tmp_path: Path, station: Path) -> None:
    with build(SPEC, tmp_path) as scene:
        path = os.path.join(scene.tree, b"doc-0.txt")
        doc = register(station, path)
        protected = snapshot(scene.outside)
        other = tmp_path / "other-home"
        assert run_cli("shred", os.fsdecode(path), home=other).code == 0
        # Destroyed by another station: this station's ledger still says "registered".
        found = violations(station, scene, protected, {}, {doc: path})
        assert found == [f"{doc}: gone, recorded destroyed 0 times"]
