"""Hot-plug: the kernel's uevents for loop devices these tests attach themselves."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import pyudev

from expunge.drives import Drive, WatchFilter, watch_drives
from tests.support.drives import Loops, needs_root, write_image

pytestmark = [needs_root, pytest.mark.root]

MIB = 2**20


class Station:
    """Runs one watch_drives iterator in a thread and keeps what it yields."""

    def __init__(self, drives: Iterator[Drive]):
        self.drives: list[Drive] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(drives,), daemon=True)
        self.thread.start()

    def _run(self, drives: Iterator[Drive]) -> None:
        try:
            for drive in drives:
                self.drives.append(drive)
        except BaseException as exc:
            self.error = exc

    def of(self, node: str) -> list[Drive]:
        return [d for d in self.drives if d.node == node]


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
    stop = threading.Event()
    station = Station(watch_drives(filters=WatchFilter(include_virtual=True), stop=stop))
    usb_only = Station(watch_drives(filters=WatchFilter(), stop=stop))
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
        assert usb_only.of(node) == []
    finally:
        stop.set()
        for watcher in (station, usb_only):
            watcher.thread.join(timeout=3)
    assert not station.thread.is_alive() and not usb_only.thread.is_alive()
    assert station.error is None and usb_only.error is None
