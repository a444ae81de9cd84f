"""Running the CLI for the harness: plain, killed at a drawn system call, and the
scenario helpers (registration, recovery, the bounded hypothesis settings)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from tests.support import Result, need_tool, run_cli
from tests.support.hazards.trees import Scene

SYSCALLS = ("fdatasync", "renameat2", "unlinkat", "pwrite64")


def run_killed(args: list[str | bytes], home: Path, syscall: str, when: int) -> int:
    """``expunge ARGS`` killed (SIGKILL, injected by strace) at the ``when``-th ``syscall``.

    Returns the exit code; a run that ends before that call is not killed.
    """
    return run_signalled(args, home, syscall, when, "KILL").code


def run_signalled(
    args: list[str | bytes], home: Path, syscall: str, when: int, signal: str
) -> Result:
    """``expunge ARGS`` sent ``signal`` (``INT``, ``KILL``, ...: injected by strace, so it
    lands at a counted moment, not after a guessed delay) at the entry of the ``when``-th
    ``syscall``. A run that ends before that call gets no signal.
    """
    strace = need_tool("strace")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
    env["EXPUNGE_HOME"] = str(home)
    proc = subprocess.run(
        [
            strace,
            "-f",
            "-o",
            "/dev/null",
            "-e",
            f"trace={syscall}",
            "-e",
            f"inject={syscall}:signal={signal}:when={when}",
            sys.executable,
            "-m",
            "expunge",
            *args,
        ],
        capture_output=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
        text=True,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def no_traceback(result: Result) -> None:
    """A user never sees a traceback, whatever the hazard."""
    assert "Traceback" not in result.err + result.out, result


# -- scenario helpers ----------------------------------------------------------------------

# Bounded so that the whole harness costs about three minutes on a loaded two-core machine;
# derandomized so that a failure found in CI is found again by the same run anywhere, and
# the blob printed so that a failing example can be replayed with @reproduce_failure.
# No shrinking: each example costs seconds of real commands, and a shrink would take many
# minutes; the failing tree is printed whole instead (``TreeSpec.describe``).
HARNESS = settings(
    max_examples=4,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

kills = st.none() | st.tuples(st.sampled_from(SYSCALLS), st.integers(1, 24))


def station(folder: Path) -> Path:
    """A fresh home with its station key, in ``folder``."""
    home = folder / "home"
    done = run_cli("key", "init", home=home)
    assert done.code == 0, done
    return home


def register(home: Path, path: bytes, *extra: str) -> str:
    """Register ``path`` as an internal document; its id."""
    done = run_cli(
        "ledger", "register", os.fsdecode(path), "--classification", "internal", *extra, home=home
    )
    no_traceback(done)
    assert done.code == 0, done
    return done.out.split()[0]


def run(args: list[str], home: Path, kill: tuple[str, int] | None) -> int:
    """Run ``expunge ARGS`` as is, or killed at the drawn system call; its exit code."""
    if kill is None:
        result = run_cli(*args, home=home)
        no_traceback(result)
        return result.code
    return run_killed(list(args), home, *kill)


def recover(home: Path) -> None:
    """``expunge recover``: always one clean run, whatever the previous one left."""
    done = run_cli("recover", home=home)
    no_traceback(done)
    assert done.code == 0, done


def registrable(scene: Scene) -> list[bytes]:
    """The scene's files the ledger can record (UTF-8 paths), ``doc-N.txt`` first."""
    found = []
    for path in sorted(scene.files, key=lambda p: (b"/doc-" not in p, p)):
        try:
            path.decode("utf-8")
        except UnicodeDecodeError:
            continue
        found.append(path)
    return found


def stuck(scene: Scene, path: bytes) -> bool:
    """Whether ``path`` is a name in an immutable folder of the scene (it cannot be removed)."""
    return os.path.dirname(path) in scene.immutable
