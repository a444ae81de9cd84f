"""``expunge drive watch``: a station process that wipes the loop device this test attaches.

Other tests on this machine attach loop devices of their own at any moment, so the
station is told to take only a drive of this test's exact, unusual size
(``--min-size`` = ``--max-size``), and ``--once`` ends it after that one drive. The station
process is killed by its PID in teardown if it is still running.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import pyudev

from tests.support import run_cli
from tests.support.drives import Loops
from tests.support.drivewipe import MIB, canary_image, needs_root, token

pytestmark = [needs_root, pytest.mark.root]

SIZE = 45 * MIB + 36 * 1024  # nobody else's loop device has this size
READY_SECONDS = 30
WIPE_SECONDS = 60


class Station:
    """``expunge drive watch ...`` as a child process."""

    def __init__(self, home: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
        env["EXPUNGE_HOME"] = str(home)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "expunge", "drive", "watch", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def wait_until_watching(self) -> str:
        """The first stderr line, once the station listens (it says so)."""
        assert self.proc.stderr is not None
        ready, _, _ = select.select([self.proc.stderr], [], [], READY_SECONDS)
        assert ready, "the station did not start"
        line = self.proc.stderr.readline()
        assert "watching for drives" in line, line + self.proc.stderr.read()
        return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


@pytest.fixture
def stations() -> Iterator[list[Station]]:
    started: list[Station] = []
    try:
        yield started
    finally:
        for station in started:
            station.stop()


def kernel_saw(monitor: pyudev.Monitor, node: str) -> bool:
    saw = False
    while (device := monitor.poll(timeout=0)) is not None:
        saw = saw or device.device_node == node
    return saw


def test_station_wipes_and_certifies_a_drive_when_it_appears(
    tmp_path: Path, loops: Loops, stations: list[Station]
) -> None:
    image = tmp_path / "stick.img"
    canary_image(image, SIZE)
    home = tmp_path / "home"
    size = str(SIZE)
    station = Station(
        home,
        "--include-virtual", "--bus", "any", "--min-size", size, "--max-size", size,
        "--once", "--yes", "-m", "zero", "--verify", "quick",
    )  # fmt: skip
    stations.append(station)
    probe = pyudev.Monitor.from_netlink(pyudev.Context(), source="kernel")
    probe.filter_by("block")
    probe.start()
    station.wait_until_watching()

    node = loops.attach(image)
    identity = token(node)
    try:
        out, err = station.proc.communicate(timeout=WIPE_SECONDS)
    except subprocess.TimeoutExpired:
        if not kernel_saw(probe, node):
            pytest.skip("the kernel delivers no block uevents to netlink listeners here")
        raise
    assert station.proc.returncode == 0, out + err
    (line,) = out.splitlines()
    shown_node, shown_token, outcome, cert = line.split(" ", 3)
    assert (shown_node, shown_token, outcome) == (node, identity, "success")
    assert Path(cert).parent == home / "certificates"
    assert image.read_bytes() == bytes(SIZE)
    checked = run_cli("cert", "verify", cert, home=home)
    assert checked.code == 0, checked.out + checked.err


def test_idle_station_stops_cleanly_on_ctrl_c(tmp_path: Path, stations: list[Station]) -> None:
    # Only a USB drive of this exact, odd size would be taken: there is none.
    size = str(SIZE)
    station = Station(tmp_path / "home", "--yes", "--min-size", size, "--max-size", size)
    stations.append(station)
    station.wait_until_watching()
    station.proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    out, err = station.proc.communicate(timeout=10)
    assert station.proc.returncode == 0, err
    assert time.monotonic() - started < 5
    assert out == ""
    assert "station stopped" in err


def test_station_needs_yes(tmp_path: Path) -> None:
    done = run_cli("drive", "watch", "--include-virtual", home=tmp_path / "home")
    assert done.code == 3
    assert "--yes" in done.err
