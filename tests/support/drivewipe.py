"""Helpers for the whole-drive wipe tests: loop devices of our own, canaries, certificates.

Safety: every loop device is attached here to an image under the test's tmp_path; a node
is only handed to expunge, detached or re-attached while sysfs says it is backed by one of
our images. Teardown unmounts and detaches everything, also when the test fails.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import pyudev

from expunge.certificates import Certificate, read_envelope
from expunge.drives import find_drive

MIB = 1 << 20
CANARY = b"CANARY-drive-wipe-secret:"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to attach loop devices")


def canary_image(path: Path, size: int, *, tag: bytes = b"") -> None:
    """``size`` bytes made of canary strings (with ``tag``), so that survivors can be counted."""
    unit = CANARY + tag + b"|"
    block = (unit * (MIB // len(unit) + 1))[:MIB]
    with path.open("wb") as out:
        for _ in range(size // MIB):
            out.write(block)
        out.write(block[: size % MIB])


def digest(path: Path) -> str:
    """SHA-256 of a whole file."""
    hasher = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(4 * MIB):
            hasher.update(chunk)
    return hasher.hexdigest()


def token(node: str) -> str:
    """The identity token of ``node`` as expunge lists it."""
    return find_drive(node).identity_token


def certificate(path: Path) -> Certificate:
    """The certificate in an envelope file (signature not checked: see ``cert verify``)."""
    return Certificate.from_json(read_envelope(path).payload)


def events(out: str) -> list[dict[str, Any]]:
    """The JSON Lines event stream of ``drive wipe --json`` / ``drive watch --json``."""
    return [json.loads(line) for line in out.splitlines()]


def finished(out: str) -> list[dict[str, Any]]:
    """Each drive's result (its ``finished`` event), in the order the drives finished."""
    return [e for e in events(out) if e["event"] == "finished"]


def block_probe() -> pyudev.Monitor:
    """A bare uevent monitor, started now: beside a station, it tells "this sandbox delivers
    no uevents" (skip) from a bug (fail)."""
    probe = pyudev.Monitor.from_netlink(pyudev.Context(), source="kernel")
    probe.filter_by("block")
    probe.start()
    return probe


def skip_without_uevents(probe: pyudev.Monitor, node: str) -> None:
    """Skip the test when ``probe`` never heard of ``node``: the kernel sends no uevents."""
    saw = False
    while (device := probe.poll(timeout=0)) is not None:
        saw = saw or device.device_node == node
    if not saw:
        pytest.skip("the kernel delivers no block uevents to netlink listeners here")
