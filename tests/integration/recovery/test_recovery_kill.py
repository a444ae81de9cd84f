"""A destruction killed at any step still ends with its record (issue [2/8], invariant 1).

The destroying process is killed (SIGKILL, injected by strace at the entry of the N-th call
of a system call that marks a step: every ``fdatasync`` of passes, journals and the run log,
every rename of the name scrubbing, the unlink). After the kill, ``expunge recover`` (or
the next destroying command) runs. Then, whatever N was:

- either nothing of the document was destroyed: the file is byte-identical, no certificate
  names it, and it is still "registered";
- or the destruction is complete and proven: the file is gone (no random name left in its
  folder), a success certificate that verifies names it, the ledger says "destroyed" citing
  that certificate, ``audit`` passes, and no run log or wipe journal is left behind;
- or its passes had not all completed: the certificate says so (interrupted), the journal is
  kept, and running ``destroy DOC`` again finishes the destruction (then as above).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support import run_cli, run_state_left
from tests.support.hazards import run_killed

# Registered first in a fresh ledger: the first id of the current year.
DOC = f"DOC-{datetime.now(UTC).year}-000001"
CONTENT = bytes(range(256)) * 4096  # 1 MiB, recognisable


def _killed_destroy(home: Path, syscall: str, when: int) -> int:
    """``destroy DOC`` killed at the entry of the ``when``-th ``syscall``; its exit code."""
    return run_killed(["destroy", DOC, "--yes", "--verify", "full"], home, syscall, when)


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    folder = tmp_path / "docs"
    folder.mkdir()
    target = folder / "minutes.txt"
    target.write_bytes(CONTENT)
    assert run_cli("key", "init", home=home).code == 0
    registered = run_cli(
        "ledger", "register", target, "--classification", "confidential", home=home
    )
    assert registered.code == 0, registered
    return home, target


def _status(home: Path) -> str:
    shown = run_cli("ledger", "show", DOC, "--json", home=home)
    assert shown.code == 0, shown
    return str(json.loads(shown.out)["status"])


def _certificates(home: Path) -> list[Path]:
    return sorted((home / "certificates").glob("*.cert.json"))


def _assert_complete(home: Path, target: Path) -> None:
    assert not target.exists()
    assert list(target.parent.iterdir()) == [], "a scrubbed name was left in the folder"
    shown = json.loads(run_cli("ledger", "show", DOC, "--json", home=home).out)
    assert shown["status"] == "destroyed"
    cited = shown["destroyed_by"]["certificate_id"]
    (certificate,) = [c for c in _certificates(home) if c.name.startswith(cited)]
    verdict = run_cli("cert", "verify", certificate, home=home)
    assert verdict.code == 0, verdict
    audited = run_cli("audit", home=home)
    assert audited.code == 0, audited
    assert run_state_left(home) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("syscall", "when"),
    [
        ("fdatasync", 1),
        ("fdatasync", 2),
        ("fdatasync", 3),
        ("fdatasync", 4),
        ("fdatasync", 6),
        ("fdatasync", 8),
        ("renameat2", 1),
        ("renameat2", 3),
        ("unlinkat", 1),
    ],
)
def test_a_killed_destroy_ends_recorded_or_untouched(
    tmp_path: Path, syscall: str, when: int
) -> None:
    home, target = _setup(tmp_path)
    code = _killed_destroy(home, syscall, when)
    recovered = run_cli("recover", home=home)
    assert recovered.code == 0, recovered
    assert "Traceback" not in recovered.err
    if code == 0:  # the run ended before the N-th call: it must be complete on its own
        _assert_complete(home, target)
        return
    if target.exists() and target.read_bytes() == CONTENT:
        # Killed before the first byte: nothing destroyed, nothing claimed.
        assert _status(home) == "registered"
        assert _certificates(home) == []
        return
    if _status(home) != "destroyed":
        # Interrupted mid-pass: the journal is kept, and destroying again finishes it.
        again = run_cli("destroy", DOC, "--yes", "--verify", "full", home=home)
        assert again.code == 0, again
    _assert_complete(home, target)


def test_recover_with_nothing_to_do_says_so(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli("key", "init", home=home).code == 0
    result = run_cli("recover", home=home)
    assert result.code == 0
    assert result.out.strip() == "nothing to recover: no interrupted run at this station"


def test_a_destroying_command_recovers_first(tmp_path: Path) -> None:
    home, target = _setup(tmp_path)
    assert _killed_destroy(home, "unlinkat", 1) != 0
    other = tmp_path / "other.txt"
    other.write_bytes(b"x" * 100)
    shredded = run_cli("shred", other, home=home)
    assert shredded.code == 0, shredded
    assert f"finished an interrupted run of {DOC}" in shredded.err
    _assert_complete(home, target)
    shutil.rmtree(tmp_path / "docs")
