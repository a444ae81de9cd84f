"""An interrupted fill keeps its files and journal, refuses to start over, and resumes to
the end: files removed, canaries gone. Stopped as Ctrl-C stops it, and killed with -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from expunge.core.config import Home, StationSettings
from expunge.core.progress import NullProgress, StopRequest
from expunge.shred.methods import get_method
from expunge.verify import VerifyOptions
from expunge.workflows import certify, fill
from tests.support import mounted_image, needs_root, run_cli, unmount
from tests.support.drivewipe import certificate
from tests.support.fill import canary, counts, write_and_remove

pytestmark = [needs_root, pytest.mark.root]


class StopAfter(NullProgress):
    """Asks the fill to stop once ``limit`` bytes of it were written (as Ctrl-C does)."""

    def __init__(self, stop: StopRequest, limit: int) -> None:
        self.stop, self.limit, self.done = stop, limit, 0

    def advance(self, task: str, done: int) -> None:
        self.done += done
        if self.done >= self.limit:
            self.stop.request("SIGINT")


def _fill_folders(mount: Path) -> list[Path]:
    return [p for p in mount.iterdir() if p.name.startswith(".expunge-fill-")]


def test_a_stopped_fill_resumes_and_removes_its_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with mounted_image(tmp_path, "ext4", 64 << 20) as image:
        markers = {f"f{i}.bin": canary(f"resume-{i}") for i in range(6)}
        write_and_remove(image.mount, markers, 4 << 20)
        station = certify.Station.open(Home(home), StationSettings("tester"), None)
        stop = StopRequest()
        # dod-3: three passes, so the resume has passes left as well as bytes.
        request = fill.FillRequest(str(image.mount), get_method("dod-3"), VerifyOptions("quick"))
        first = fill.fill_free_space(request, station, progress=StopAfter(stop, 8 << 20), stop=stop)
        assert first.work.status == "interrupted" and not first.work.removed
        assert first.certificate is not None
        assert certificate(first.certificate.path).interrupted_by == "SIGINT"
        (folder,) = _fill_folders(image.mount)
        assert sum(p.stat().st_size for p in folder.iterdir()) >= 8 << 20

        again = run_cli("fill", "-m", "dod-3", image.mount, home=home)
        assert again.code == 3 and "--resume" in again.err  # its files hold the free space
        other = run_cli("fill", "-m", "clear", "--resume", image.mount, home=home)
        assert other.code == 2 and "dod-3" in other.err

        done = run_cli("fill", "-m", "dod-3", "--resume", "--json", image.mount, home=home)
        assert done.code == 0, done
        report = json.loads(done.out)
        assert report["status"] == "success" and len(report["passes"]) == 3
        assert any("resumed" in e for e in report["events"])
        assert _fill_folders(image.mount) == [] and not list((home / "journal").glob("*.fill.json"))
        unmount(image)
        assert counts(image.image, list(markers.values())) == {m: 0 for m in markers.values()}
    notes = certificate(Path(report["certificate"])).notes
    assert "interrupted" in notes and "resumed" in notes


def test_a_fill_killed_at_any_moment_is_finished_by_resume(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
    env["EXPUNGE_HOME"] = str(home)
    with mounted_image(tmp_path, "ext4", 128 << 20) as image:
        markers = {f"k{i}.bin": canary(f"kill-{i}") for i in range(4)}
        write_and_remove(image.mount, markers, 8 << 20)
        child = subprocess.Popen(
            [sys.executable, "-m", "expunge", "fill", "-m", "dod-3", str(image.mount)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            folders = _fill_folders(image.mount)
            if folders and sum(p.stat().st_size for p in folders[0].iterdir()) > 32 << 20:
                break
            time.sleep(0.01)
        if child.poll() is not None:
            pytest.skip("the fill finished before it could be killed")
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        done = run_cli("fill", "-m", "dod-3", "--resume", image.mount, home=home)
        assert done.code == 0, done
        assert _fill_folders(image.mount) == []
        unmount(image)
        assert counts(image.image, list(markers.values())) == {m: 0 for m in markers.values()}
