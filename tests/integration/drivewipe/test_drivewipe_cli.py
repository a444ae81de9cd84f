"""``expunge drive wipe`` on loop devices these tests attach: content, certificates, refusals.

Every device is backed by an image under tmp_path, named explicitly, and detached in
teardown. What a wipe did is checked in the backing files themselves.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from expunge.certificates import Category
from expunge.shred.patterns import PassPattern
from tests.support import Result, run_cli
from tests.support.drives import Loops
from tests.support.drivewipe import (
    CANARY,
    MIB,
    canary_image,
    certificate,
    digest,
    finished,
    needs_root,
    token,
)
from tests.support.json_output import report_json

pytestmark = [needs_root, pytest.mark.root]

SIZE = 64 * MIB
CHUNK = 4 * MIB


def two_drives(tmp_path: Path, loops: Loops, size: int = SIZE) -> tuple[list[Path], list[str]]:
    images = [tmp_path / "a.img", tmp_path / "b.img"]
    for tag, image in zip((b"A", b"B"), images, strict=True):
        canary_image(image, size, tag=tag)
    return images, [loops.attach(image) for image in images]


def expects(*nodes: str) -> list[str]:
    return [arg for node in nodes for arg in ("--expect", token(node))]


def assert_no_certificates(home: Path) -> None:
    certs = home / "certificates"
    assert not certs.exists() or not any(certs.iterdir())


def test_two_drives_are_zeroed_in_parallel_and_certified(tmp_path: Path, loops: Loops) -> None:
    images, nodes = two_drives(tmp_path, loops)
    home = tmp_path / "home"
    args = ["drive", "wipe", *nodes, "--include-virtual", "--yes", *expects(*nodes)]
    done = run_cli(*args, "-m", "zero", "--json", home=home)
    assert done.code == 0, done.err

    results = sorted(finished(done.out), key=lambda r: nodes.index(r["node"]))
    assert [r["node"] for r in results] == nodes
    assert [r["status"] for r in results] == ["success", "success"]
    for image in images:
        assert image.stat().st_size == SIZE
        subprocess.run(["cmp", "-n", str(SIZE), str(image), "/dev/zero"], check=True)

    certs = [certificate(Path(r["certificate"])) for r in results]
    for node, cert in zip(nodes, certs, strict=True):
        assert cert.outcome.value == "success"
        assert cert.sanitization.category is Category.CLEAR
        (record,) = cert.subjects
        assert record.subject.node == node
        assert record.subject.identity_token == token(node)
        assert record.subject.size == SIZE
        assert record.verified
        codes = {lim.code for lim in cert.limitations}
        assert codes == {"virtual-disk", "hidden-areas-unknown"}
    # Both passes ran at the same time: each started before the other ended.
    first, second = (c.subjects[0].passes[0] for c in certs)
    assert first.started_at < second.finished_at and second.started_at < first.finished_at

    paths = [r["certificate"] for r in results]
    checked = run_cli("cert", "verify", *paths, home=home)
    assert checked.code == 0, checked.out + checked.err


def test_default_random_pass_is_the_stream_the_certificate_records(
    tmp_path: Path, loops: Loops
) -> None:
    images, nodes = two_drives(tmp_path, loops)
    home = tmp_path / "home"
    done = run_cli(
        "drive", "wipe", *nodes, "--include-virtual", "--yes", *expects(*nodes), home=home
    )
    assert done.code == 0, done.err
    assert done.out.count("wiped: ") == 2
    assert "verification success: nist" in done.out
    paths = re.findall(r"certificate \(success\): (\S+)", done.out)
    assert len(paths) == 2

    # Each result is printed as its drive finishes: the certificate says which drive.
    by_node = {certificate(Path(p)).subjects[0].subject.node: p for p in paths}
    keys = []
    for image, node in zip(images, nodes, strict=True):
        final = certificate(Path(by_node[node])).subjects[0].final_pass
        assert final is not None and final.key_hex is not None
        keys.append(final.key_hex)
        stream = PassPattern.random(bytes.fromhex(final.key_hex)).stream()
        expected = bytearray(CHUNK)
        with image.open("rb") as f:
            for offset in range(0, SIZE, CHUNK):
                stream.fill(memoryview(expected), offset)
                assert f.read(CHUNK) == expected, f"{image} differs near offset {offset}"
        assert CANARY not in image.read_bytes()
    assert keys[0] != keys[1]
    assert run_cli("cert", "verify", *paths, home=home).code == 0


def test_mounted_drive_is_refused_and_stays_intact(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "fs.img"
    canary_image(image, 16 * MIB)
    node = loops.attach(image)
    subprocess.run(
        ["mkfs.ext4", "-q", "-E", "lazy_itable_init=0,lazy_journal_init=0", node], check=True
    )
    mnt = tmp_path / "mnt"
    loops.mount(node, mnt)
    (mnt / "canary").write_bytes(CANARY)
    os.sync()
    before = digest(image)

    home = tmp_path / "home"
    done = run_cli("drive", "wipe", node, "--include-virtual", "--yes", *expects(node), home=home)
    assert done.code == 3, done.out + done.err
    assert f"REFUSED: {node}" in done.out
    assert "in use" in done.out
    os.sync()
    assert digest(image) == before
    assert (mnt / "canary").read_bytes() == CANARY
    assert_no_certificates(home)


def test_drive_with_a_mounted_partition_is_refused(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "parted.img"
    canary_image(image, 32 * MIB)
    node = loops.attach(image, partitions=[(2048, 16384)])
    subprocess.run(
        ["mkfs.ext4", "-q", "-E", "lazy_itable_init=0,lazy_journal_init=0", f"{node}p1"],
        check=True,
    )
    mnt = tmp_path / "mnt"
    loops.mount(f"{node}p1", mnt)
    (mnt / "canary").write_bytes(CANARY)
    os.sync()
    before = digest(image)

    listed = run_cli("drive", "list", "--all", "--include-virtual", "--json", home=tmp_path)
    (row,) = [r for r in report_json(listed, "drive-list")["items"] if r["node"] == node]
    assert not row["may_wipe"]
    assert [r["code"] for r in row["reasons"]] == ["mounted"]

    home = tmp_path / "home"
    done = run_cli(
        "drive", "wipe", node, "--include-virtual", "--yes", *expects(node), "--json", home=home
    )
    assert done.code == 3, done.out + done.err
    (result,) = finished(done.out)
    assert result["status"] == "refused"
    assert result["certificate"] is None and result["wipe"] is None
    os.sync()
    assert digest(image) == before
    assert (mnt / "canary").read_bytes() == CANARY
    assert_no_certificates(home)


@pytest.mark.parametrize(
    "confirmation",
    [["--yes", "--expect", "FIRST", "--expect", "diskseq:1"], ["--yes", "--expect", "FIRST"], []],
    ids=["wrong-expect", "missing-expect", "no-yes-no-terminal"],
)
def test_unconfirmed_drives_are_refused_before_anything_is_written(
    tmp_path: Path, loops: Loops, confirmation: list[str]
) -> None:
    images, nodes = two_drives(tmp_path, loops, 8 * MIB)
    before = [digest(image) for image in images]
    args = [token(nodes[0]) if arg == "FIRST" else arg for arg in confirmation]
    home = tmp_path / "home"
    done = run_cli("drive", "wipe", *nodes, "--include-virtual", *args, home=home)
    assert done.code == 3, done.out + done.err
    assert "nothing was written" in done.err
    assert done.err.count("\n") == 1 and "Traceback" not in done.err
    assert [digest(image) for image in images] == before
    assert not home.exists()


def run_at_terminal(args: list[str], home: Path, typed: str) -> Result:
    """Run expunge with a pseudo-terminal on stdin, where ``typed`` is entered."""
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
    env["EXPUNGE_HOME"] = str(home)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "expunge", *args],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        os.close(slave)
        slave = -1
        os.write(master, typed.encode() + b"\n")
        out, err = proc.communicate(timeout=120)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    return Result(proc.returncode, out, err)


def test_operator_types_the_token_at_a_terminal(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "stick.img"
    canary_image(image, 8 * MIB)
    node = loops.attach(image)
    home = tmp_path / "home"
    args = ["drive", "wipe", node, "--include-virtual", "-m", "one", "--verify", "full"]

    wrong = run_at_terminal(args, home, "diskseq:0\n" * 3)
    assert wrong.code == 3, wrong.out + wrong.err
    assert wrong.err.count("type its identity token") == 3
    assert "2 tries left" in wrong.err and "1 try left" in wrong.err
    assert f"REFUSED: {node} [{token(node)}]: {node}: not confirmed" in wrong.out
    assert CANARY in image.read_bytes()

    right = run_at_terminal(args, home, token(node))
    assert right.code == 0, right.out + right.err
    assert f"{node}" in right.err and token(node) in right.err
    assert image.read_bytes() == b"\xff" * (8 * MIB)
    assert "certificate (success)" in right.out


def test_a_mistyped_token_asks_again_for_that_drive_only(tmp_path: Path, loops: Loops) -> None:
    images = [tmp_path / f"{name}.img" for name in "abc"]
    for image in images:
        canary_image(image, 8 * MIB)
    nodes = [loops.attach(image) for image in images]
    first, second, third = (token(node) for node in nodes)
    typed = [first, "typo", second, "typo", "again", "still wrong"]
    args = ["drive", "wipe", *nodes, "--include-virtual", "-m", "zero", "--verify", "full"]
    done = run_at_terminal(args, tmp_path / "home", "\n".join(typed))
    assert done.code == 3, done.out + done.err
    assert done.err.count("type its identity token") == 6
    assert f"{nodes[2]} will not be wiped: not confirmed" in done.err
    assert images[0].read_bytes() == images[1].read_bytes() == bytes(8 * MIB)
    assert CANARY in images[2].read_bytes()
    assert done.out.count("wiped: ") == 2
    assert f"REFUSED: {nodes[2]} [{third}]" in done.out
    assert "Traceback" not in done.err


def test_ctrl_c_stops_every_drive_and_certifies_it_as_interrupted(
    tmp_path: Path, loops: Loops
) -> None:
    images, nodes = two_drives(tmp_path, loops, 128 * MIB)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
    env["EXPUNGE_HOME"] = str(tmp_path / "home")
    args = ["drive", "wipe", *nodes, "--include-virtual", "--yes", *expects(*nodes)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "expunge", *args, "-m", "gutmann", "--json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while images[0].read_bytes()[: len(CANARY)] == CANARY and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, out + err
    results = finished(out)
    assert [r["status"] for r in results] == ["interrupted", "interrupted"]
    for result in results:
        cert = certificate(Path(result["certificate"]))
        assert cert.outcome.value == "interrupted"
        assert cert.interrupted_by == "SIGINT"
        assert len(cert.subjects[0].passes) < 35
    assert "interrupted" in err


def test_list_shows_token_and_verdict(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "disk.img"
    canary_image(image, 8 * MIB)
    node = loops.attach(image)
    judged = run_cli("drive", "list", "--all", "--include-virtual", home=tmp_path)
    assert judged.code == 0, judged.err
    (row,) = [line for line in judged.out.splitlines() if line.startswith(f"{node} ")]
    assert token(node) in row and "8.0 MiB" in row and row.endswith("may be wiped")
    strict = run_cli("drive", "list", "--all", home=tmp_path)
    (row,) = [line for line in strict.out.splitlines() if line.startswith(f"{node} ")]
    assert "no: is a virtual disk" in row
    assert node not in run_cli("drive", "list", home=tmp_path).out
