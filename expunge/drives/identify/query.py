"""Running an installed tool's read-only query about a drive (smartctl, hdparm)."""

from __future__ import annotations

import shutil
import subprocess


def run_query(
    tool: str, args: list[str], timeout: float
) -> subprocess.CompletedProcess[str] | None:
    """``tool ARGS`` run to the end with captured text output; None when the tool is not
    installed, cannot be started, or does not answer within ``timeout`` seconds."""
    path = shutil.which(tool)
    if path is None:
        return None
    try:
        return subprocess.run(
            [path, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
