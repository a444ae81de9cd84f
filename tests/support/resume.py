"""Helpers for the resume tests: the CLI in the background, and certificates as data."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from expunge.drives import find_drive
from expunge.shred.patterns import PassPattern, expected_bytes
from expunge.shred.report import ByteRange
from tests.support import run_cli


def start_cli(*args: str | os.PathLike[str], home: Path) -> subprocess.Popen[str]:
    """``python -m expunge ARGS`` as our own background process, output piped."""
    env = {**os.environ, "EXPUNGE_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "expunge", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wipe(node: str, home: Path, *extra: str) -> tuple[int, str, str]:
    """``drive wipe`` of a loop device we attached, confirmed by its identity token."""
    token = find_drive(node).identity_token
    done = run_cli(
        "drive", "wipe", node, "--include-virtual", "--yes", "--expect", token,
        "--verify", "quick", *extra, home=home,
    )  # fmt: skip
    return done.code, done.out, done.err


def certificate(path: Path) -> dict[str, Any]:
    """The certificate signed in the DSSE envelope at ``path`` (not checked: see cert verify)."""
    envelope = json.loads(path.read_text(encoding="utf-8"))
    data: dict[str, Any] = json.loads(base64.b64decode(envelope["payload"]))
    return data


def certificates(home: Path) -> list[dict[str, Any]]:
    """Every certificate in ``home``, oldest first (ids sort by time)."""
    return [certificate(p) for p in sorted((home / "certificates").glob("*.cert.json"))]


def final_pattern(cert: dict[str, Any]) -> PassPattern:
    """The final pass of the certificate's only subject, recomputable from its key."""
    (subject,) = cert["subjects"]
    final = subject["passes"][-1]
    if final["pattern_hex"] is not None:
        return PassPattern.fixed(bytes.fromhex(final["pattern_hex"]))
    return PassPattern.random(bytes.fromhex(final["key_hex"]))


def final_content(cert: dict[str, Any], size: int) -> bytes:
    """What the target holds when the certificate's final pass covered all of it."""
    return expected_bytes(final_pattern(cert), 0, size)


def unwritten(cert: dict[str, Any]) -> tuple[ByteRange, ...]:
    """The final pass's unwritten ranges as the certificate lists them."""
    (subject,) = cert["subjects"]
    return tuple(ByteRange(r["start"], r["end"]) for r in subject["passes"][-1]["unwritten"])
