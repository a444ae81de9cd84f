"""Helpers of the fleet tests (stations sharing one ledger)."""

from __future__ import annotations

from pathlib import Path

from tests.support import Result, run_cli
from tests.support.drivewipe import token


def wipe_drive(node: str, home: Path, *extra: str) -> Result:
    """``expunge drive wipe NODE`` of one of our loop devices, confirmed, quick read-back."""
    args = ["--include-virtual", "--yes", "--expect", token(node), "--verify", "quick"]
    return run_cli("drive", "wipe", node, *args, *extra, home=home)
