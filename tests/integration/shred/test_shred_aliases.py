"""Operators' habits from GNU shred, nwipe and srm: the options that mean the same thing
here do the same thing (README: "Coming from GNU shred / nwipe / srm")."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from expunge.certificates import Certificate, read_envelope
from tests.support import needs_root, run_cli
from tests.support.drives import Loops
from tests.support.drivewipe import MIB, canary_image, finished, token
from tests.support.drivewipe import certificate as drive_certificate


def certificate(out: str) -> Certificate:
    found = re.search(r"^certificate \(\w+\): (\S+)$", out, re.M)
    assert found, out
    return Certificate.from_json(read_envelope(Path(found.group(1))).payload)


def passes(cert: Certificate) -> list[tuple[str, str | None]]:
    (subject,) = cert.to_dict()["subjects"]
    return [(p["kind"], p["pattern_hex"]) for p in subject["passes"]]


def test_n_and_z_write_n_random_passes_then_zeros(cli_home: Path, tmp_path: Path) -> None:
    target = tmp_path / "doc.bin"
    target.write_bytes(os.urandom(256 << 10))
    done = run_cli("shred", "-n", "2", "-z", "--keep", target, home=cli_home)
    assert done.code == 0, done.err
    assert target.read_bytes() == bytes(256 << 10)  # the last pass, on the media
    cert = certificate(done.out)
    assert passes(cert) == [("random", None), ("random", None), ("fixed", "00")]
    assert cert.sanitization.method_details.startswith("passes: R, R, 00")


def test_u_removes_as_it_does_by_default(cli_home: Path, tmp_path: Path) -> None:
    target = tmp_path / "doc.bin"
    target.write_bytes(os.urandom(64 << 10))
    done = run_cli("shred", "-u", "-n", "1", target, home=cli_home)
    assert done.code == 0, done.err
    assert not target.exists()
    assert passes(certificate(done.out)) == [("random", None)]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-u", "--keep"], "-u/--remove and --keep contradict each other"),
        (["-n", "2", "-m", "dod-3"], "-n and --method both say which passes to write"),
        (["-n", "2", "--passes", "00"], "-n and --passes both say which passes to write"),
        (["-n", "0"], "0 is not in the range"),
    ],
)
def test_contradictions_are_one_usage_line(
    cli_home: Path, tmp_path: Path, args: list[str], words: str
) -> None:
    target = tmp_path / "doc.bin"
    target.write_bytes(b"keep me")
    done = run_cli("shred", *args, target, home=cli_home)
    assert done.code == 2
    (line,) = done.err.splitlines()
    assert line.startswith("expunge: ") and words in line
    assert target.read_bytes() == b"keep me"


def test_v_lists_each_file_and_q_only_the_certificate(cli_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "tree"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / name).write_bytes(os.urandom(4096))
    verbose = run_cli("shred", "-r", "-v", folder, home=cli_home)
    assert verbose.code == 0, verbose.err
    assert f"{folder / 'a'}" in verbose.out and f"{folder / 'b'}" in verbose.out
    (folder.parent / "c").write_bytes(os.urandom(4096))
    quiet = run_cli("shred", "-q", folder.parent / "c", home=cli_home)
    assert quiet.code == 0, quiet.err
    (line,) = quiet.out.splitlines()
    assert line.endswith(".cert.json")


def test_autonuke_is_watch_without_asking(tmp_path: Path) -> None:
    home = tmp_path / "home"
    asked = run_cli("drive", "watch", "--nowait", home=home)
    assert asked.code == 3 and "--yes" in asked.err
    # Past the confirmation, the next check speaks: virtual disks need an allow list.
    nuked = run_cli("drive", "watch", "--autonuke", "--nowait", "--include-virtual", home=home)
    assert nuked.code == 2, nuked.err
    assert "--device GLOB" in nuked.err


@needs_root
def test_autonuke_nowait_n_z_wipe_a_drive(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "drive.img"
    canary_image(image, 16 * MIB)
    node = loops.attach(image)
    home = tmp_path / "home"
    args = ["drive", "wipe", node, "--include-virtual", "--autonuke", "--nowait"]
    done = run_cli(*args, "--expect", token(node), "-n", "1", "-z", "--json", home=home)
    assert done.code == 0, done.err
    assert image.read_bytes() == bytes(16 * MIB)
    (result,) = finished(done.out)
    assert result["status"] == "success"
    cert = drive_certificate(Path(result["certificate"]))
    assert cert.sanitization.method_details.startswith("passes: R, 00")
