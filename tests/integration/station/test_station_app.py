"""``expunge station``'s screen, driven by Textual's own harness against loop devices this
test attaches (and only those: the allow-list names this test's tmp_path).

Each state is saved as an SVG screenshot under ``tests/artifacts/station/`` (git-ignored)
for people to look at.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import pyudev
from textual.pilot import Pilot

from expunge.commands.station.app import StationApp
from expunge.commands.station.board import INTERRUPTED, REFUSED, SAFE, WAITING, WIPING, Row
from expunge.core.config import Home, load_settings
from expunge.drives import WatchFilter
from expunge.shred.methods import get_method
from expunge.verify import VerifyOptions
from expunge.workflows import certify, drive_wipe
from tests.support import run_cli
from tests.support.drives import Loops
from tests.support.drivewipe import (
    CANARY,
    MIB,
    block_probe,
    canary_image,
    certificate,
    needs_root,
    skip_without_uevents,
    token,
)

pytestmark = [needs_root, pytest.mark.root]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "station"


def station_app(tmp_path: Path, *, automatic: bool = False, method: str = "zero") -> StationApp:
    home = Home(tmp_path / "home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
    plan = drive_wipe.StationPlan(
        get_method(method),
        VerifyOptions("quick"),
        WatchFilter(buses=None, include_virtual=True, devices=(f"{tmp_path}/*",)),
    )
    station = certify.Station.open(home, load_settings(home, env), None)
    return StationApp(plan, station, home, automatic=automatic)


async def until(pilot: Pilot[object], condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the station did not get there in time"
        await pilot.pause(0.05)


def shot(app: StationApp, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return Path(app.save_screenshot(filename=f"{name}.svg", path=str(ARTIFACTS)))


def row_of(app: StationApp, node: str) -> Row | None:
    return app.board.rows.get(node)


def in_state(app: StationApp, node: str, state: str) -> Callable[[], bool]:
    return lambda: (r := row_of(app, node)) is not None and r.state == state


async def appeared(pilot: Pilot[object], app: StationApp, node: str, probe: pyudev.Monitor) -> None:
    try:
        await until(pilot, lambda: row_of(app, node) is not None, 15)
    except AssertionError:
        skip_without_uevents(probe, node)
        raise


def test_a_drive_is_confirmed_wiped_and_certified_and_a_refused_one_says_why(
    tmp_path: Path, loops: Loops
) -> None:
    stick, locked = tmp_path / "stick.img", tmp_path / "locked.img"
    canary_image(stick, 24 * MIB)
    canary_image(locked, 16 * MIB, tag=b"L")
    app = station_app(tmp_path)
    probe = block_probe()

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.board.watching is not None)
            shot(app, "1-watching")
            node = loops.attach(stick)
            await appeared(pilot, app, node, probe)
            await until(pilot, in_state(app, node, WAITING))
            shot(app, "2-waiting-for-confirmation")
            assert stick.read_bytes().startswith(CANARY)  # nothing before confirmation

            await pilot.press("c")
            await pilot.press(*"wrong", "enter")
            await until(pilot, lambda: row_of(app, node).tries_left == 2)  # type: ignore[union-attr]
            await pilot.press("c")
            await pilot.press(*token(node), "enter")
            await until(pilot, in_state(app, node, SAFE))
            shot(app, "3-safe-to-remove")
            row = row_of(app, node)
            assert row is not None and row.certificate_id and row.certificate_path
            assert row.certificate_id in row.status()

            await pilot.press("v")
            await pilot.pause(0.3)
            shot(app, "4-certificate")
            await pilot.press("escape")

            ro = loops.attach(locked, read_only=True)
            await appeared(pilot, app, ro, probe)
            await until(pilot, in_state(app, ro, REFUSED))
            shot(app, "5-refused")
            refused = row_of(app, ro)
            assert refused is not None and "read-only" in refused.status()
            await pilot.press("q")
            await until(pilot, lambda: app.return_value is not None, 30)

    asyncio.run(scenario())
    assert stick.read_bytes() == bytes(24 * MIB)
    assert locked.read_bytes().startswith(CANARY)
    statuses = {r.node: r.status for r in app.return_value or ()}
    assert sorted(statuses.values()) == ["refused", "success"]
    (wiped,) = [r for r in app.return_value or () if r.status == "success"]
    assert wiped.certificate is not None
    checked = run_cli("cert", "verify", wiped.certificate.path, home=tmp_path / "home")
    assert checked.code == 0, checked.out + checked.err


def test_quitting_mid_wipe_certifies_the_drive_as_interrupted(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "big.img"
    canary_image(image, 1024 * MIB)
    app = station_app(tmp_path, automatic=True, method="bsi-vsitr")  # 7 passes: time to quit
    probe = block_probe()

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.board.watching is not None)
            node = loops.attach(image)
            await appeared(pilot, app, node, probe)
            await until(
                pilot,
                lambda: (
                    (r := row_of(app, node)) is not None
                    and r.state == WIPING
                    and r.progress is not None
                ),
            )
            shot(app, "6-wiping")
            await pilot.press("q")
            await until(pilot, in_state(app, node, INTERRUPTED))
            shot(app, "7-interrupted")
            await until(pilot, lambda: app.return_value is not None, 30)

    asyncio.run(scenario())
    (result,) = app.return_value or ()
    assert result.status == "interrupted" and result.certificate is not None
    cert = certificate(result.certificate.path)
    assert cert.outcome.value == "interrupted" and cert.interrupted_by == "station quit"
    assert app.quit_while_busy
