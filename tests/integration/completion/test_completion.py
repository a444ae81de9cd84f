"""Shell completion as the shell drives it: ``_EXPUNGE_COMPLETE``, ``COMP_WORDS``,
``COMP_CWORD`` set for the console script (issue [8/8])."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from expunge.shred.methods import CRYPTO_METHODS, REGISTRY, SANITIZE_METHODS

SCRIPT = shutil.which("expunge", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(
    SCRIPT is None, reason="no expunge console script beside this interpreter (pip install -e .)"
)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPUNGE_", "XDG_", "_"))}
    env["HOME"] = str(home.parent)
    env["EXPUNGE_HOME"] = str(home)
    return env


def complete(home: Path, line: str, shell: str = "bash") -> list[tuple[str, str]]:
    """What the shell gets for TAB at the end of ``line``: ``(type, value)`` pairs."""
    words = line.split(" ")
    proc = subprocess.run(
        [str(SCRIPT)],
        env={
            **_env(home),
            "_EXPUNGE_COMPLETE": f"{shell}_complete",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(words) - 1),
        },
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    # One "type,value" line per candidate; a single empty line when there is none.
    rows = [row.split(",", 1) for row in proc.stdout.splitlines() if row]
    return [(kind, value) for kind, value in rows]


def values(home: Path, line: str) -> list[str]:
    return [value for kind, value in complete(home, line) if kind == "plain"]


def expunge(home: Path, *args: str) -> str:
    proc = subprocess.run(
        [str(SCRIPT), *args],
        env=_env(home),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` with its content digest."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _register(home: Path, tmp_path: Path, *ids: str) -> None:
    for doc_id in ids:
        document = tmp_path / f"{doc_id}.txt"
        document.write_text(f"confidential {doc_id}\n")
        expunge(
            home,
            "ledger",
            "register",
            str(document),
            "--classification",
            "internal",
            "--id",
            doc_id,
        )


def test_method_lists_the_registry(tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = [*REGISTRY, *CRYPTO_METHODS]
    assert values(home, "expunge shred -m ") == files
    assert values(home, "expunge shred --method dod") == ["dod-3", "dod-7"]
    assert values(home, "expunge destroy --method gut") == ["gutmann"]
    assert values(home, "expunge drive wipe -m ") == [*files, *SANITIZE_METHODS]
    assert values(home, "expunge drive wipe --then ") == files
    assert not home.exists(), "completing created the home"


def test_zsh_sees_each_methods_passes(tmp_path: Path) -> None:
    lines = subprocess.run(
        [str(SCRIPT)],
        env={
            **_env(tmp_path / "home"),
            "_EXPUNGE_COMPLETE": "zsh_complete",
            "COMP_WORDS": "expunge shred -m dod",
            "COMP_CWORD": "3",
        },
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.splitlines()
    # zsh_complete: type, value, help, for each candidate.
    dod_3, dod_7 = (", ".join(REGISTRY[name].passes) for name in ("dod-3", "dod-7"))
    assert lines == ["plain", "dod-3", dod_3, "plain", "dod-7", dod_7]
    assert dod_3 == "c1, ~c1, R"


def test_ledger_show_lists_the_ledgers_ids_and_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _register(home, tmp_path, "HR-2026-001", "HR-2026-002", "FIN-7")
    before = _snapshot(home)
    assert values(home, "expunge ledger show ") == ["FIN-7", "HR-2026-001", "HR-2026-002"]
    assert values(home, "expunge ledger copy HR") == ["HR-2026-001", "HR-2026-002"]
    assert values(home, "expunge destroy F") == ["FIN-7"]
    assert values(home, f"expunge ledger show --home {home} HR-2026-00") == [
        "HR-2026-001",
        "HR-2026-002",
    ]
    assert _snapshot(home) == before, "completion changed or created a file in the home"


def test_ids_still_in_a_writers_log_are_offered(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _register(home, tmp_path, "OLD-1")
    # Another process keeps the ledger open (a sweep, say): what is committed meanwhile
    # stays in the write-ahead log, not yet in the database file.
    holder = sqlite3.connect(home / "ledger.db")
    try:
        holder.execute("SELECT count(*) FROM entries").fetchone()
        _register(home, tmp_path, "NEW-2")
        assert (home / "ledger.db-wal").stat().st_size > 0
        assert values(home, "expunge ledger show ") == ["NEW-2", "OLD-1"]
    finally:
        holder.close()


def test_no_ledger_means_no_ids_and_no_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert complete(home, "expunge ledger show ") == []
    assert not home.exists()
    home.mkdir()
    assert complete(home, "expunge ledger show D") == []
    assert list(home.iterdir()) == []
    (home / "ledger.db").write_bytes(b"not a database at all, damaged" * 100)
    assert complete(home, "expunge ledger show ") == [], "a damaged ledger offers nothing"


def test_a_shared_ledger_is_not_asked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _register(home, tmp_path, "LOCAL-1")
    # An address nothing answers at: a completion that tried would wait, then fail.
    line = "expunge ledger show --ledger postgresql://nobody@127.0.0.1:9/none "
    assert complete(home, line) == []


def test_certificates_come_from_the_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"minutes\n" * 512)
    expunge(home, "shred", str(secret), "--verify", "quick")
    (cert,) = sorted((home / "certificates").glob("*.cert.json"))
    assert values(home, "expunge cert show ") == [str(cert)]
    assert values(home, f"expunge cert verify {cert.name[:6]}") == [str(cert)]
    assert values(home, f"expunge verify {secret} --cert ") == [str(cert)]
    assert values(home, "expunge cert attest ") == [str(cert)]
    # A certificate kept elsewhere: the shell's own file completion takes over.
    assert complete(home, f"expunge cert show {tmp_path}/sec") == [("file", f"{tmp_path}/sec")]


def test_drive_nodes_come_from_discovery(tmp_path: Path, loop_device: tuple[str, Path]) -> None:
    node, _ = loop_device
    home = tmp_path / "home"
    assert node in values(home, "expunge drive wipe --include-virtual ")
    assert node not in values(home, "expunge drive wipe ")
    assert values(home, f"expunge drive wipe --include-virtual {node}") == [node]
    assert not home.exists()
