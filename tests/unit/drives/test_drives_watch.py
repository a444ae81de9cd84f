"""Hot-plug: the kernel's uevents for loop devices these tests attach themselves."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import pyudev

from expunge.drives import Appeared, Drive, DriveWatch, Place, Removed, WatchFilter
from tests.support.drives import Loops, needs_root, write_image

pytestmark = [needs_root, pytest.mark.root]

MIB = 2**20


class Station:
    """Runs one DriveWatch in a thread and keeps what it reports about our own images."""

    def __init__(self, watch: DriveWatch, stop: threading.Event, mine: WatchFilter):
        self.appeared: list[Appeared] = []
        self.removed: list[Removed] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(watch, stop, mine), daemon=True)
        self.thread.start()

    def _run(self, watch: DriveWatch, stop: threading.Event, mine: WatchFilter) -> None:
        try:
            for event in watch.events(stop):
                if isinstance(event, Appeared) and mine.accepts(event.drive, event.place):
                    self.appeared.append(event)
                elif isinstance(event, Removed):
                    self.removed.append(event)
        except BaseException as exc:
            self.error = exc

    def of(self, node: str) -> list[Drive]:
        return [e.drive for e in self.appeared if e.drive.node == node]


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def kernel_saw(monitor: pyudev.Monitor, node: str) -> bool:
    """Whether a plain pyudev monitor received uevents for ``node`` (all queued are read)."""
    saw = False
    while (device := monitor.poll(timeout=0)) is not None:
        saw = saw or device.device_node == node
    return saw


def test_attaching_a_loop_device_yields_it_once_per_medium(tmp_path: Path, loops: Loops) -> None:
    first, second = tmp_path / "first.img", tmp_path / "second.img"
    write_image(first, 4 * MIB, seed=b"first")
    write_image(second, 6 * MIB, seed=b"second")
    # A bare monitor alongside tells "this sandbox delivers no uevents" from a bug.
    probe = pyudev.Monitor.from_netlink(pyudev.Context(), source="kernel")
    probe.filter_by("block")
    probe.start()
    before = tmp_path / "before.img"
    write_image(before, 5 * MIB, seed=b"before")
    present = loops.attach(before)
    mine = WatchFilter(include_virtual=True, devices=(f"{tmp_path}/*",))
    stop = threading.Event()
    watch = DriveWatch()
    ((was_there, place),) = [(d, p) for d, p in watch.present if d.node == present]
    assert place.backing_file == str(before) and place.slot is None
    assert mine.accepts(was_there, place)
    station = Station(watch, stop, mine)
    try:
        node = loops.attach(first)
        if not wait_for(lambda: bool(station.of(node)), 10) and not kernel_saw(probe, node):
            pytest.skip("the kernel delivers no block uevents to netlink listeners here")
        (drive,) = station.of(node)
        assert drive.size == 4 * MIB
        assert drive.bus == "virtual"
        assert drive.identity_token == f"diskseq:{drive.diskseq}"

        # Another event for the same medium (as a partition rescan makes) is not a new drive.
        kernel_saw(probe, node)
        Path(f"/sys/block/{Path(node).name}/uevent").write_text("change")
        assert wait_for(lambda: kernel_saw(probe, node), 5)
        time.sleep(0.5)
        assert len(station.of(node)) == 1

        loops.detach(node)
        if not loops.reattach(node, second):
            pytest.skip(f"another process attached {node} between detach and re-attach")
        assert wait_for(lambda: len(station.of(node)) == 2, 10)
        again = station.of(node)[1]
        assert again.size == 6 * MIB
        assert again.diskseq is not None and drive.diskseq is not None
        assert again.diskseq > drive.diskseq
        assert WatchFilter().reason(again, Place(backing_file=str(second))) is not None
        loops.detach(node)  # a medium that goes (and stays gone) is told
        assert wait_for(lambda: any(r.node == node for r in station.removed), 10)
        assert station.of(present) == []  # present at the start: never offered
    finally:
        stop.set()
        station.thread.join(timeout=3)
    assert not station.thread.is_alive()
    assert station.error is None
