"""The sdist builds (its wheel is built from it) and tests; the wheel, installed into a
fresh virtual environment, runs ``expunge demo`` (issue [8/8]).

The wheel is installed without its dependencies, which the fresh environment borrows
from the one running these tests through a ``.pth`` line: no download, so the test is
fast and works offline. ``.ci/run`` installs the wheel with its dependencies as well.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import expunge

pytest.importorskip("build", reason="python -m build is in the dev extra: pip install -e .[dev]")

SOURCE = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def _run(*argv: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )
    assert proc.returncode == 0, f"{argv}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An sdist of a copy of the source tree, and the wheel built from that sdist."""
    base = tmp_path_factory.mktemp("dist")
    # A copy: building writes build/ and *.egg-info into the tree it builds.
    tree = base / "src"
    shutil.copytree(
        SOURCE,
        tree,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv*",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            ".*_cache",
            ".hypothesis",
        ),
    )
    out = base / "out"
    _run(sys.executable, "-m", "build", "--outdir", str(out), str(tree))
    return out


def _sdist_names(dist: Path) -> set[str]:
    (sdist,) = dist.glob("expunge-*.tar.gz")
    with tarfile.open(sdist) as tar:
        return {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}


def test_the_sdist_carries_what_it_takes_to_test(dist: Path) -> None:
    names = _sdist_names(dist)
    for needed in (
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "expunge/py.typed",
        "tests/conftest.py",
        "tests/unit/core/test_core_config.py",
        "contrib/systemd/expunge-sweep.timer",
        "benchmarks/bench_shred.py",
        ".ci/run",
    ):
        assert needed in names, f"the sdist lacks {needed}"
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    license_text = (SOURCE / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text


def test_the_sdist_runs_its_own_tests(dist: Path, tmp_path: Path) -> None:
    (sdist,) = dist.glob("expunge-*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path, filter="data")
    (root,) = tmp_path.iterdir()
    # pytest's pythonpath = ["."] puts the unpacked sources ahead of any installed copy.
    out = _run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/unit/core/test_core_config.py",
        cwd=root,
    )
    assert " passed" in out and "failed" not in out


def test_the_wheel_ships_its_licences_and_types(dist: Path) -> None:
    (wheel,) = dist.glob("expunge-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(f"expunge-{expunge.__version__}.dist-info/METADATA").decode()
    assert "expunge/py.typed" in names
    assert f"expunge-{expunge.__version__}.dist-info/licenses/LICENSE" in names
    assert "License-Expression: Apache-2.0 AND Bitstream-Vera" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    assert "Project-URL: Source, " in metadata
    if importlib.util.find_spec("twine") is not None:
        _run(sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir()))


def test_the_installed_wheel_runs_the_demo(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("expunge-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    site = Path(
        _run(str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip()
    )
    # pip --python: the fresh interpreter installs it, so the script's #! names that one.
    _run(
        sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
        "--no-compile", str(wheel),
    )  # fmt: skip
    # Dependencies from the running environment, after the fresh one's own packages.
    borrowed = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "borrowed-dependencies.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    # Run from elsewhere: python -c puts the working folder (here, the sources) first.
    where = _run(str(python), "-c", "import expunge; print(expunge.__file__)", cwd=tmp_path)
    assert where.startswith(str(venv)), f"expunge imported from {where}, not the wheel"

    user = tmp_path / "user"
    user.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPUNGE_", "XDG_"))}
    env |= {"HOME": str(user), "TMPDIR": str(tmp_path)}
    script = venv / "bin" / "expunge"
    assert (
        _run(str(script), "--version", env=env).strip() == f"expunge, version {expunge.__version__}"
    )
    out = _run(str(script), "demo", "--size", "65536", env=env, cwd=tmp_path)
    assert "6. verified it with the station's public key: VALID" in out
    assert "destroyed at seq" in out
    assert not (user / ".local").exists(), "the demo wrote into the real home"
    # Its throwaway home (left for the auditor's commands it prints) is in our TMPDIR.
    assert Path(out.splitlines()[0].split()[2]).parent == tmp_path
