"""``expunge station`` in a real 80x24 terminal (tmux): a drive appears, is wiped in
automatic mode, its row says SAFE TO REMOVE, and no line is wider than the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.drives import Loops
from tests.support.drivewipe import MIB, canary_image, needs_root
from tests.support.tmux import PROMPT, exited, expunge_argv, terminal

pytestmark = [needs_root, pytest.mark.root]


def test_station_at_an_80x24_terminal(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "stick.img"
    canary_image(image, 32 * MIB)
    home = tmp_path / "home"
    argv = expunge_argv(
        "station", "--auto", "--include-virtual", "--device", f"{tmp_path}/*", "--bus", "any",
        "-m", "zero", "--verify", "quick",
    )  # fmt: skip
    with terminal(tmp_path) as term:
        term.run(argv, {"EXPUNGE_HOME": str(home)})
        term.wait_for(lambda lines: any("watching;" in line for line in lines), 60)
        node = loops.attach(image)
        screen = term.wait_for(lambda lines: any("SAFE TO REMOVE" in x for x in lines), 60)
        assert len(screen) == 24 and all(len(line) <= 80 for line in screen), screen
        assert any(line.lstrip("│ ▶").startswith(node) for line in screen), screen
        assert any("expunge station" in line and "AUTO" in line for line in screen), screen
        term.type("q")
        done = term.wait_for(lambda lines: exited(lines) is not None, 30)
    assert exited(done) == 0, "\n".join(done)
    assert any(line.startswith(f"{node} diskseq:") and " success " in line for line in done)
    assert done[-1].rstrip() == PROMPT
    assert image.read_bytes() == bytes(32 * MIB)
