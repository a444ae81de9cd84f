"""``expunge drive watch``: a station process that wipes the loop devices this test attaches.

Other tests on this machine attach loop devices of their own at any moment, so every
station here is restricted by the allow-list to backing files under this test's tmp_path
(``--include-virtual --device TMP/*``), and to this test's unusual sizes. The station
process is killed by its PID in teardown if it is still running.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pytest

from expunge.workflows.drive_wipe.tracker import EMIT_SECONDS
from tests.support import need_tool, run_cli
from tests.support.drives import Loops
from tests.support.drivewipe import (
    MIB,
    block_probe,
    canary_image,
    certificate,
    digest,
    needs_root,
    skip_without_uevents,
    token,
)

pytestmark = [needs_root, pytest.mark.root]

SIZE = 45 * MIB + 36 * 1024  # nobody else's loop device has this size
READY_SECONDS = 30
WIPE_SECONDS = 120


class Station:
    """``expunge drive watch ...`` as a child process; stdout lines queued as they come."""

    def __init__(self, home: Path, *args: str, under: tuple[str, ...] = ()) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
        env["EXPUNGE_HOME"] = str(home)
        self.proc = subprocess.Popen(
            [*under, sys.executable, "-m", "expunge", "drive", "watch", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.err_lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.err: list[str] = []
        threading.Thread(
            target=self._read, args=(self.proc.stdout, self.lines), daemon=True
        ).start()
        threading.Thread(
            target=self._read, args=(self.proc.stderr, self.err_lines), daemon=True
        ).start()

    def wait_until_watching(self) -> list[str]:
        """The station's first stderr lines, once it listens (it says so), up to the count
        of disks it leaves alone."""
        while not self.err or "other disk(s) present" not in self.err[-1]:
            try:
                self.err.append(self.err_lines.get(timeout=READY_SECONDS))
            except queue.Empty:
                raise AssertionError("the station did not start: " + "".join(self.err)) from None
        assert "watching for drives" in self.err[0], self.err
        return list(self.err)

    @staticmethod
    def _read(stream: IO[str] | None, lines: queue.Queue[str]) -> None:
        assert stream is not None
        for line in stream:
            lines.put(line)

    def stderr(self) -> str:
        """Everything the station printed on stderr so far."""
        while not self.err_lines.empty():
            self.err.append(self.err_lines.get())
        return "".join(self.err)

    def next_line(self, seconds: float = WIPE_SECONDS) -> str:
        line = self.lines.get(timeout=seconds)
        self.seen.append(line)
        return line

    def events_until(self, done: Any, seconds: float = WIPE_SECONDS) -> list[dict[str, Any]]:
        """JSON events until ``done(events)`` holds."""
        deadline = time.monotonic() + seconds
        events: list[dict[str, Any]] = []
        while not done(events):
            events.append(json.loads(self.next_line(max(deadline - time.monotonic(), 0.1))))
        return events

    def finish(self, seconds: float = 30) -> int:
        """Wait for the process to end; its exit code."""
        return self.proc.wait(timeout=seconds)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def stations() -> Iterator[list[Station]]:
    started: list[Station] = []
    try:
        yield started
    finally:
        for station in started:
            station.stop()


def only_ours(tmp_path: Path, low: int, high: int) -> list[str]:
    """The allow-list and sizes that restrict a station to this test's images."""
    return [
        "--include-virtual", "--device", f"{tmp_path}/*", "--bus", "any",
        "--min-size", str(low), "--max-size", str(high),
    ]  # fmt: skip


def test_station_wipes_a_drive_that_appears_and_leaves_present_ones_alone(
    tmp_path: Path, loops: Loops, stations: list[Station]
) -> None:
    present_image, image = tmp_path / "present.img", tmp_path / "stick.img"
    canary_image(present_image, SIZE, tag=b"P")
    canary_image(image, SIZE)
    present = loops.attach(present_image)
    before = digest(present_image)
    home = tmp_path / "home"
    station = Station(home, *only_ours(tmp_path, SIZE, SIZE), "--once", "--yes", "-m", "zero")
    stations.append(station)
    probe = block_probe()
    intro = station.wait_until_watching()
    assert any(
        f"will not be touched: {present}" in line and str(present_image) in line for line in intro
    ), intro
    assert any("station " in line and "key " in line for line in intro), intro

    node = loops.attach(image)
    identity = token(node)
    try:
        line = station.next_line()
    except queue.Empty:
        skip_without_uevents(probe, node)
        raise
    assert station.finish() == 0, station.stderr()
    shown_node, shown_token, outcome, cert = line.split(" ", 3)
    assert (shown_node, shown_token, outcome) == (node, identity, "success")
    cert = cert.strip()
    assert Path(cert).parent == home / "certificates"
    assert image.read_bytes() == bytes(SIZE)
    assert digest(present_image) == before
    err = station.stderr()
    assert f"attached: {node}" in err and f"{node}: wiped and certified, SAFE TO REMOVE" in err
    checked = run_cli("cert", "verify", cert, home=home)
    assert checked.code == 0, checked.out + checked.err


def _time(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()


# The order of a drive job's events; progress ranks by its phase.
_RANK = {
    "attached": 0,
    "started": 1,
    "writing": 2,
    "pass-done": 2,
    "verifying": 3,
    "finished": 4,
}


def test_json_events_of_two_drives_arrive_in_order_as_each_finishes(
    tmp_path: Path, loops: Loops, stations: list[Station]
) -> None:
    large, small = tmp_path / "large.img", tmp_path / "small.img"
    large_size, small_size = 1024 * MIB + 4096, 24 * MIB + 4096
    canary_image(large, large_size, tag=b"L")
    canary_image(small, small_size, tag=b"S")
    home = tmp_path / "home"
    station = Station(
        home, *only_ours(tmp_path, small_size, large_size), "--yes", "--passes", "00,ff",
        "--verify", "quick", "--json",
    )  # fmt: skip
    stations.append(station)
    probe = block_probe()
    station.wait_until_watching()

    big = loops.attach(large)
    try:
        first = station.events_until(lambda e: any(x["event"] == "started" for x in e), 30)
    except queue.Empty:
        skip_without_uevents(probe, big)
        raise
    little = loops.attach(small)
    events = first + station.events_until(lambda e: sum(x["event"] == "finished" for x in e) == 2)
    station.proc.send_signal(signal.SIGINT)
    assert station.finish() == 0, station.stderr()

    finished = [e for e in events if e["event"] == "finished"]
    assert [e["node"] for e in finished] == [little, big]
    for node in (big, little):
        mine = [e for e in events if e.get("node") == node]
        ranks = [_RANK[e.get("phase", e["event"])] for e in mine]
        assert ranks == sorted(ranks), [e["event"] for e in mine]
        assert mine[0]["event"] == "attached" and mine[-1]["event"] == "finished"
        kinds = [e["event"] for e in mine]
        assert kinds.count("pass-done") == 2
        (done,) = [e for e in events if e["event"] == "finished" and e["node"] == node]
        assert done["status"] == "success" and done["certificate_id"] in done["certificate"]
    progress = [e for e in events if e["event"] == "progress" and e["node"] == big]
    # Progress is reported once a pass has run a whole interval: a machine that writes the
    # two passes faster than that has none to report (a CI run once did).
    mine = [e for e in events if e.get("node") == big]
    began = _time(next(e for e in mine if e["event"] == "started"))
    wrote = _time([e for e in mine if e["event"] == "pass-done"][-1])
    if wrote - began > 2 * EMIT_SECONDS:
        assert progress, "the passes took longer than the interval: they report progress"
    for index in (0, 1):  # passes count from 0, as in certificates
        etas = [
            e["eta_seconds"] for e in progress if e["pass"] == index and e["phase"] == "writing"
        ]
        assert all(b <= a for a, b in itertools.pairwise(etas)), etas
    assert {(e["passes"], e["pattern"]) for e in progress if e["phase"] == "writing"} <= {
        (2, "00"),
        (2, "ff"),
    }
    with large.open("rb") as f:
        assert f.read(1 << 20) == b"\xff" * (1 << 20)


def test_a_killed_watch_job_resumes_with_drive_wipe_resume(
    tmp_path: Path, loops: Loops, stations: list[Station]
) -> None:
    image = tmp_path / "stick.img"
    size = 640 * MIB + 8192
    canary_image(image, size)
    home = tmp_path / "home"
    method = ["--passes", "00,ff"]
    # Killed by strace at a counted write rather than on a progress report: on fast media
    # (a loop device over tmpfs) a pass is over before the next once-a-second report. The
    # device is written in 4 MiB chunks; the station's few other pwrites (its ledger) come
    # before, so the kill lands between 320 and 440 MiB into the first pass, after the
    # journal's 256 MiB checkpoint and before the next.
    strace = need_tool("strace")
    killer = (strace, "-f", "-o", "/dev/null", "-e", "trace=pwrite64")
    killer += ("-e", "inject=pwrite64:signal=KILL:when=110")
    station = Station(home, *only_ours(tmp_path, size, size), "--yes", *method, "--json",
                      under=killer)  # fmt: skip
    stations.append(station)
    probe = block_probe()
    station.wait_until_watching()
    node = loops.attach(image)
    try:
        station.events_until(lambda e: any(x["event"] == "started" for x in e))
    except queue.Empty:
        skip_without_uevents(probe, node)
        raise
    assert station.finish(WIPE_SECONDS) != 0  # SIGKILL mid-pass: the journal is all that is left
    assert not (home / "certificates").exists() or not any((home / "certificates").iterdir())

    args = ["drive", "wipe", node, "--include-virtual", "--yes", "--expect", token(node)]
    pending = run_cli(*args, *method, home=home)
    assert pending.code == 3 and "--resume" in pending.out
    resumed = run_cli(*args, *method, "--resume", "--json", home=home)
    assert resumed.code == 0, resumed.out + resumed.err
    with image.open("rb") as f:
        assert f.read(4 << 20) == b"\xff" * (4 << 20)
    (done,) = [json.loads(x) for x in resumed.out.splitlines() if '"finished"' in x]
    cert = certificate(Path(done["certificate"]))
    assert cert.outcome.value == "success"
    (where,) = re.findall(rf"{node}: resumed at pass (\d), offset (\d+)", cert.notes)
    # That pass went on from where the journal had it durable, not from its start.
    first = next(json.loads(x) for x in resumed.out.splitlines() if '"pass-done"' in x)
    assert first["pass"] == int(where[0]) and first["bytes"] == size - int(where[1])
    # The kill came in the first pass, after the journal's first checkpoint: both passes
    # were written by the resumed run, the first from that checkpoint on.
    assert int(where[1]) == 256 * MIB
    assert sum('"pass-done"' in x for x in resumed.out.splitlines()) == 2


def test_idle_station_stops_cleanly_on_ctrl_c(tmp_path: Path, stations: list[Station]) -> None:
    # Only a USB drive of this exact, odd size would be taken: there is none.
    size = str(SIZE)
    station = Station(tmp_path / "home", "--yes", "--min-size", size, "--max-size", size)
    stations.append(station)
    station.wait_until_watching()
    station.proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    assert station.finish(10) == 0, station.stderr()
    assert time.monotonic() - started < 5
    time.sleep(0.2)
    assert station.lines.empty()
    assert "station stopped" in station.stderr()


def test_station_needs_yes_and_an_allow_list_for_virtual_disks(tmp_path: Path) -> None:
    done = run_cli("drive", "watch", home=tmp_path / "home")
    assert done.code == 3
    assert "--yes" in done.err
    loose = run_cli("drive", "watch", "--yes", "--include-virtual", home=tmp_path / "home")
    assert loose.code == 2, loose.err
    assert "--device GLOB" in loose.err and loose.err.count("\n") == 1
    assert not (tmp_path / "home").exists()
