"""Plan first, then act, and only on what was planned (issue [2/8], invariants 1 and 3).

Every check and every question comes before the first byte is written; the run then replays
the plan, so what changed in between (a mount, a swapped folder) is left alone and
reported; names of any bytes are certified losslessly; expunge's own home is never a
target; a declined or empty file gets the outcome it deserves.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expunge.core.config import Home, load_settings
from expunge.core.errors import EXIT_REFUSED, EXIT_TARGET, EXIT_USAGE
from expunge.shred.methods import get_method
from expunge.workflows import certify, destroy
from tests.support import needs_root, run_cli, run_state_left
from tests.support.json_output import report_json

SECRET = b"TOP SECRET canary 4c2a\n" * 50


def _payload(path: Path) -> dict[str, object]:
    envelope = json.loads(path.read_bytes())
    return dict(json.loads(base64.b64decode(envelope["payload"])))


def _only_certificate(home: Path) -> Path:
    (found,) = (home / "certificates").glob("*.cert.json")
    return found


# Names as bytes: anything but "/" and NUL, not "." or "..", with the troublesome ones
# (non-UTF-8, newlines, leading dashes, spaces) made likely.
names = st.lists(
    st.binary(min_size=1, max_size=24)
    .map(lambda b: b.replace(b"/", b"_").replace(b"\0", b"_"))
    .filter(lambda b: b not in (b".", b".."))
    | st.sampled_from([b"bad\xffname", b"-rf", b"new\nline", b" space", b"\xe9t\xe9", b"--"]),
    min_size=1,
    max_size=6,
    unique=True,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(names=names)
def test_names_of_any_bytes_are_destroyed_and_certified_losslessly(
    tmp_path_factory: pytest.TempPathFactory, names: list[bytes]
) -> None:
    root = tmp_path_factory.mktemp("names")
    tree = root / "tree"
    (tree / "sub").mkdir(parents=True)
    created = []
    for i, name in enumerate(names):
        folder = os.fsencode(tree / ("sub" if i % 2 else ""))
        path = os.path.join(folder, name)
        with open(path, "wb") as f:
            f.write(SECRET[: 10 + i])
        created.append(os.fsdecode(path))
    home = root / "home"
    result = run_cli("shred", "-r", tree, "--json", home=home)
    assert result.code == 0, result
    assert not tree.exists()
    subjects = _payload(_only_certificate(home))["subjects"]
    recorded = set()
    for record in subjects:  # type: ignore[attr-defined]
        subject = record["subject"]
        raw = subject.get("path_bytes")
        name = os.fsdecode(base64.b64decode(raw)) if raw else subject["path"]
        recorded.add(name)
    assert recorded == set(created)
    verified = run_cli("cert", "verify", _only_certificate(home), home=home)
    assert verified.code == 0, verified
    assert run_state_left(home) == []
    report = report_json(result, "shred")["items"]
    assert report[0]["status"] == "success"


def test_an_empty_file_is_a_verified_success(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    home = tmp_path / "home"
    result = run_cli("shred", empty, home=home)
    assert result.code == 0, result
    assert "certificate (success)" in result.out
    assert not empty.exists()
    assert run_cli("cert", "verify", _only_certificate(home), home=home).code == 0
    assert run_state_left(home) == []


def test_a_declined_file_is_untouched_and_gets_no_certificate(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    home = tmp_path / "home"
    result = run_cli("shred", "-i", secret, home=home, input="n\n")
    assert result.code == 0, result
    assert "skipped" in result.out and "nothing was written" in result.out
    assert secret.read_bytes() == SECRET
    assert not (home / "certificates").exists() or not any((home / "certificates").iterdir())
    assert not (home / "station.key").exists(), "nothing to sign, so no key is created"


def test_end_of_input_at_the_question_writes_nothing(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_bytes(SECRET)
    (tree / "b.txt").write_bytes(SECRET)
    home = tmp_path / "home"
    # "y" for the first file, then end of input (as Ctrl-D, or Ctrl-C, at the second).
    result = run_cli("shred", "-r", "-i", tree, home=home, input="y\n")
    assert result.code == 130, result
    assert "nothing was written" in result.err and "--resume" not in result.err
    assert (tree / "a.txt").read_bytes() == SECRET, "every question comes before any write"
    assert (tree / "b.txt").read_bytes() == SECRET


def _station(home: Path) -> certify.Station:
    the_home = Home(home)
    return certify.Station.open(the_home, load_settings(the_home, {}), None)


@needs_root
def test_a_mount_appearing_after_planning_is_left_alone(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_bytes(SECRET)
    (tree / "sub" / "b.txt").write_bytes(SECRET)
    station = _station(tmp_path / "home")
    request = destroy.ShredRequest(paths=(str(tree),), method=get_method("clear"), recursive=True)
    plan = destroy.plan_paths(request, station)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(tree / "sub")], check=True)
    try:
        (tree / "sub" / "mounted.txt").write_bytes(SECRET)
        (result,) = destroy.execute(plan, station)
        assert (tree / "sub" / "mounted.txt").read_bytes() == SECRET
    finally:
        subprocess.run(["umount", str(tree / "sub")], check=True)
    assert not (tree / "a.txt").exists()
    assert (tree / "sub" / "b.txt").read_bytes() == SECRET, "the folder under the mount"
    assert result.left and all("left alone" in line for line in result.left)
    assert result.status == "partial"
    failure = destroy.destructions_failure((result,))
    assert failure is not None and failure.exit_code == EXIT_TARGET
    assert result.certificate is not None
    assert "left alone" in result.certificate.certificate.notes


def test_a_folder_swapped_for_a_symlink_after_planning_is_not_followed(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "b.txt").write_bytes(SECRET)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.txt").write_bytes(SECRET)
    station = _station(tmp_path / "home")
    request = destroy.ShredRequest(paths=(str(tree),), method=get_method("clear"), recursive=True)
    plan = destroy.plan_paths(request, station)
    os.rename(tree / "sub", tmp_path / "moved")
    (tree / "sub").symlink_to(outside)
    (result,) = destroy.execute(plan, station)
    assert (outside / "b.txt").read_bytes() == SECRET
    assert (tmp_path / "moved" / "b.txt").read_bytes() == SECRET
    assert result.left


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("shred", "{home}/station.key"), EXIT_REFUSED),
        (("shred", "-r", "--force", "{home}"), EXIT_REFUSED),
        (("shred", "-r", "{parent}"), EXIT_REFUSED),
        (("shred", "{home}/ledger.db"), EXIT_REFUSED),
        (("shred", "--coverage", "nan", "--verify", "quick", "{secret}"), EXIT_USAGE),
    ],
)
def test_the_home_and_bad_options_are_refused_before_anything_is_written(
    tmp_path: Path, args: tuple[str, ...], code: int
) -> None:
    parent = tmp_path / "parent"
    home = parent / "home"
    secret = parent / "secret.txt"
    parent.mkdir()
    secret.write_bytes(SECRET)
    assert run_cli("key", "init", home=home).code == 0
    doc = run_cli("ledger", "register", secret, "--classification", "internal", home=home)
    assert doc.code == 0, doc
    before = {p: p.read_bytes() for p in parent.rglob("*") if p.is_file()}
    filled = [a.format(home=home, parent=parent, secret=secret) for a in args]
    result = run_cli(*filled, home=home)
    assert result.code == code, result
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
    after = {p: p.read_bytes() for p in parent.rglob("*") if p.is_file()}
    assert after == before


def test_a_tree_1200_folders_deep_is_destroyed(tmp_path: Path) -> None:
    top = tmp_path / "deep"
    top.mkdir()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for level in range(1200):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
            if level % 300 == 0 or level == 1199:
                leaf = os.open("f", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)
                os.write(leaf, SECRET)
                os.close(leaf)
    finally:
        os.close(fd)
    home = tmp_path / "home"

    def low_limit() -> None:  # the usual default, below one descriptor per level
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        )

    result = run_cli("shred", "-r", top, home=home, preexec_fn=low_limit)
    assert result.code == 0, result.err[-500:]
    assert "Traceback" not in result.err
    assert not top.exists()
    assert "(5 files)" in result.out
