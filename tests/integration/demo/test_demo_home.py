"""``expunge demo`` never writes demo documents into the station's real home (issue [2/8])."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_demo_without_a_home_uses_a_throwaway_one(tmp_path: Path) -> None:
    user_home = tmp_path / "user"
    user_home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPUNGE_", "XDG_"))}
    env["HOME"] = str(user_home)
    proc = subprocess.run(
        [sys.executable, "-m", "expunge", "demo", "--size", "65536"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("demo home: ")
    demo_home = Path(first.split()[2])
    assert (demo_home / "ledger.db").exists() and (demo_home / "station.key").exists()
    real = user_home / ".local" / "share" / "expunge"
    assert not real.exists(), "the station's real home holds nothing of the demo"
    assert f"expunge audit --home {demo_home}" in proc.stdout
