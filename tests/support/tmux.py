"""A terminal for tests: a private tmux server (its own socket) with one 80x24 window.

``send-keys`` types, ``capture-pane`` reads the screen as a person would see it. The
server is ours alone and is killed in teardown.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support import need_tool

PROMPT = "READY$"
"""The shell's prompt (followed by a space, which capture-pane trims)."""


class Terminal:
    """One tmux window running ``bash`` with a plain prompt."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True
        )
        return done.stdout

    def type(self, *keys: str) -> None:
        """Keys as tmux names them (``C-c``, ``Enter``) or literal text."""
        self.tmux("send-keys", "-t", "t", *keys)

    def run(self, argv: Sequence[str | os.PathLike[str]], env: dict[str, str]) -> None:
        """Type a command line that runs ``argv`` with ``env``, then ``echo EXIT=$?``."""
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        line = f"{assignments} {shlex.join(map(str, argv))}; echo EXIT=$?"
        self.type("-l", line)
        self.type("Enter")

    def screen(self, *, joined: bool = False) -> list[str]:
        """The visible lines; ``joined``: every line since the start, scrolled off or not,
        with the lines the terminal wrapped put back together."""
        args = ["capture-pane", "-p", "-t", "t", *(["-J", "-S", "-"] if joined else [])]
        return self.tmux(*args).rstrip("\n").split("\n")

    def wait_for(self, found: Callable[[list[str]], bool], seconds: float = 120) -> list[str]:
        deadline = time.monotonic() + seconds
        while True:
            lines = self.screen()
            if found(lines):
                return lines
            assert time.monotonic() < deadline, "\n".join(lines)
            time.sleep(0.1)


def exited(lines: list[str]) -> int | None:
    """The exit code ``Terminal.run`` echoed, once the command has ended (never the typed
    command line, which may wrap right before its ``echo EXIT=$?``)."""
    for line in lines:
        if match := re.fullmatch(r"EXIT=(\d+)", line.strip()):
            return int(match.group(1))
    return None


@contextmanager
def terminal(folder: Path) -> Iterator[Terminal]:
    """A private tmux server running bash in an 80x24 window; killed afterwards."""
    need_tool("tmux")
    socket = f"expunge-test-{os.getpid()}-{time.monotonic_ns()}"
    term = Terminal(socket)
    path, prompt = shlex.quote(os.environ["PATH"]), shlex.quote(PROMPT + " ")
    env = f"env -i PATH={path} TERM=xterm-256color PS1={prompt}"
    term.tmux(
        "new-session", "-d", "-s", "t", "-x", "80", "-y", "24", "-c", str(folder),
        f"{env} bash --norc --noprofile",
    )  # fmt: skip
    term.tmux("set-option", "-t", "t", "status", "off")
    try:
        term.wait_for(lambda lines: any(line.startswith(PROMPT) for line in lines), 10)
        yield term
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


def expunge_argv(*args: str | os.PathLike[str]) -> list[str | os.PathLike[str]]:
    """``python -m expunge ARGS`` with this test run's interpreter."""
    return [sys.executable, "-m", "expunge", *args]
