"""Thousands of files in one run (issue [3/8]): all destroyed, one certificate listing them,
the registered ones recorded, no journal left; interrupted half-way and resumed, every file
covered exactly once and none overwritten from the start twice."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support import run_cli, run_state_left
from tests.support.json_output import report_json

FILES = 3000
REGISTERED = 12


def _tree(root: Path) -> list[Path]:
    """FILES files of 4 KiB in folders of up to 100, some three levels deep."""
    paths = []
    for i in range(FILES):
        folder = root / f"d{i // 100:02d}"
        if i % 7 == 0:
            folder = folder / "deeper" / f"s{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"f{i:04d}.bin"
        path.write_bytes(os.urandom(4096))
        paths.append(path)
    return paths


def _register(home: Path, paths: list[Path]) -> list[str]:
    docs = []
    for path in paths:
        result = run_cli(
            "ledger", "register", path, "--classification", "secret", "--json", home=home
        )
        assert result.code == 0, result
        docs.append(json.loads(result.out)["doc_id"])
    return docs


def _payloads(home: Path) -> list[dict[str, Any]]:
    found = []
    for cert in sorted((home / "certificates").glob("*.cert.json")):
        envelope = json.loads(cert.read_bytes())
        found.append(json.loads(base64.b64decode(envelope["payload"])))
    return found


def _destroyed_paths(payload: dict[str, Any]) -> list[str]:
    return [s["subject"]["path"] for s in payload["subjects"] if s.get("removed")]


def _ledger_status(home: Path, docs: list[str]) -> dict[str, str]:
    listed = run_cli("ledger", "list", "--json", home=home)
    assert listed.code == 0, listed
    return {
        d["doc_id"]: d["status"]
        for d in report_json(listed, "ledger-list")["items"]
        if d["doc_id"] in docs
    }


def _verify_all(home: Path) -> None:
    """Every certificate is genuine; one that records an interruption says so (exit 5)."""
    for cert in (home / "certificates").glob("*.cert.json"):
        checked = run_cli("cert", "verify", cert, home=home)
        if "outcome interrupted" in checked.out:
            assert checked.code == 5 and "is genuine" in checked.out, checked
        else:
            assert checked.code == 0, checked


def test_three_thousand_files_in_one_run(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    paths = _tree(tree)
    home = tmp_path / "home"
    docs = _register(home, paths[:: FILES // REGISTERED][:REGISTERED])
    result = run_cli("shred", "-r", "-q", tree, home=home)
    assert result.code == 0, result
    assert not any(p.exists() for p in paths)
    (payload,) = _payloads(home)
    assert payload["outcome"] == "success"
    assert sorted(_destroyed_paths(payload)) == sorted(str(p) for p in paths)
    assert set(_ledger_status(home, docs).values()) == {"destroyed"}
    assert run_state_left(home) == []
    _verify_all(home)


def test_interrupted_half_way_and_resumed(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    paths = _tree(tree)
    home = tmp_path / "home"
    docs = _register(home, paths[:: FILES // REGISTERED][:REGISTERED])
    env = {**os.environ, "EXPUNGE_HOME": str(home)}
    command = [sys.executable, "-m", "expunge", "shred", "-r", "-q", str(tree)]
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 600
        while sum(p.exists() for p in paths) > FILES // 2:
            assert run.poll() is None, "the run ended before it could be interrupted"
            assert time.monotonic() < deadline
            time.sleep(0.2)
        run.send_signal(signal.SIGINT)
        _out, err = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 130, err
    assert b"--resume" in err
    left = [p for p in paths if p.exists()]
    assert 0 < len(left) < FILES

    resumed = run_cli("shred", "-r", "-q", "--resume", tree, home=home)
    assert resumed.code == 0, resumed
    assert not any(p.exists() for p in paths)
    first, second = _payloads_in_order(home)
    assert first["outcome"] == "interrupted" and second["outcome"] == "success"
    done_first, done_second = _destroyed_paths(first), _destroyed_paths(second)
    # Every file is certified destroyed exactly once across the two runs.
    assert sorted(done_first + done_second) == sorted(str(p) for p in paths)
    # A file the interruption caught mid-pass is finished from its journal, not started
    # again: the resumed run's certificate says where it resumed, and only files the
    # first run had begun (several are in flight at once) can be among them.
    begun = {s["subject"]["path"] for s in first["subjects"] if not s.get("removed")}
    assert len(begun) <= 16
    assert set(done_second) >= begun
    # Every document is recorded destroyed: those the first run finished by its
    # (interrupted) certificate, one caught mid-pass by the resumed run's, confirmed by the
    # digest its journal kept (test_shred_resume_document.py).
    assert set(_ledger_status(home, docs).values()) == {"destroyed"}
    assert run_state_left(home) == []
    _verify_all(home)


def _payloads_in_order(home: Path) -> list[dict[str, Any]]:
    return sorted(_payloads(home), key=lambda p: p["issued_at"])
