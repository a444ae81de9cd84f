"""``drive wipe`` of three loop devices at a real terminal (tmux, 80x24): bars that never
garble each other or the results, and a clean prompt after Ctrl-C."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.drives import Loops
from tests.support.drivewipe import MIB, canary_image, needs_root, token
from tests.support.tmux import PROMPT, Terminal, exited, expunge_argv, terminal

pytestmark = [needs_root, pytest.mark.root]

_BAR = re.compile(r"[█░]")
_PASS = re.compile(r"/dev/loop\d+ pass [123]/3 \((00|ff)\) █*░*")
_EARLY_PASS = re.compile(r"/dev/loop\d+ pass (?:[1-9]|1\d)/35 .*[█░]")


def three_drives(tmp_path: Path, loops: Loops, size: int) -> list[str]:
    nodes = []
    for name in "abc":
        image = tmp_path / f"{name}.img"
        canary_image(image, size, tag=name.encode())
        nodes.append(loops.attach(image))
    return nodes


def wipe(term: Terminal, tmp_path: Path, nodes: list[str], *method: str) -> None:
    expects = [arg for node in nodes for arg in ("--expect", token(node))]
    argv = expunge_argv("drive", "wipe", *nodes, "--include-virtual", "--yes", *expects, *method)
    term.run(argv, {"EXPUNGE_HOME": str(tmp_path / "home")})


def assert_clean(lines: list[str], nodes: list[str], mark: str) -> None:
    text = "\n".join(lines)
    assert "^C" not in text and not _BAR.search(text), text
    for node in nodes:
        (result,) = [line for line in lines if f" {node} [" in line]
        assert result.startswith(f"{mark}: {node} ["), text
    assert lines[-1].rstrip() == PROMPT, text


def test_three_parallel_bars_then_one_clean_result_line_per_drive(
    tmp_path: Path, loops: Loops
) -> None:
    nodes = three_drives(tmp_path, loops, 400 * MIB)
    with terminal(tmp_path) as term:
        wipe(term, tmp_path, nodes, "--passes", "00,ff,00", "--verify", "quick")
        bars = term.wait_for(lambda lines: len([x for x in lines if _PASS.match(x)]) == 3, 60)
        drawn = [line for line in bars if _BAR.search(line)]
        assert len(drawn) == 3 and all(_PASS.match(x) for x in drawn), bars
        assert all(len(line) < 80 and "iB/s " in line and "ETA" in line for line in drawn), bars
        term.wait_for(lambda lines: exited(lines) is not None)
        lines = term.screen(joined=True)
    assert exited(lines) == 0, "\n".join(lines)
    assert_clean(lines, nodes, "wiped")


def test_ctrl_c_leaves_clean_lines_and_a_clean_prompt(tmp_path: Path, loops: Loops) -> None:
    nodes = three_drives(tmp_path, loops, 256 * MIB)
    with terminal(tmp_path) as term:
        wipe(term, tmp_path, nodes, "-m", "gutmann")
        # Bars of early passes: a fast machine wipes 256 MiB 35 times in seconds, and a
        # Ctrl-C typed once its last passes were drawn could arrive after they ended.
        term.wait_for(lambda lines: sum(bool(_EARLY_PASS.search(x)) for x in lines) == 3, 60)
        term.type("C-c")
        term.wait_for(lambda lines: exited(lines) is not None, 60)
        lines = term.screen(joined=True)
    assert exited(lines) == 130, "\n".join(lines)
    assert_clean(lines, nodes, "INTERRUPTED")
    assert any(line.startswith("expunge: ") and "interrupted" in line for line in lines)
