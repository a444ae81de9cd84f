"""SCSI SANITIZE through the SCSI test double; and what runs for real here: BLKDISCARD on a
loop device, from the ioctl up to ``expunge drive wipe -m discard``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from expunge.certificates import Category, Outcome
from expunge.drives.sanitize import IoctlExecutor, ScsiCommand
from expunge.drives.sanitize.blk import discard
from tests.support import run_cli
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
from tests.support.sanitize_doubles import ScsiDriveTestDouble
from tests.support.sanitizeflow import RecordingProgress, open_as, wipe

pytestmark = [needs_root, pytest.mark.root]
SIZE = 8 * MIB


def test_scsi_block_erase_polls_request_sense(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "sas.img"
    canary_image(image, SIZE)
    device = open_as(loops.attach(image), tmp_path / "home", "scsi")
    double = ScsiDriveTestDouble(device.fd, SIZE, service_actions=(0x02,), polls=3)
    progress = RecordingProgress()
    result = wipe(device, "sanitize", tmp_path / "home", double, progress=progress)
    sanitize = [c for c in double.sent if isinstance(c, ScsiCommand) and c.cdb[0] == 0x48]
    assert [c.cdb for c in sanitize] == [bytes.fromhex("48 82 00 00 00 00 00 00 00 00")]
    senses = [c for c in double.sent if isinstance(c, ScsiCommand) and c.cdb[0] == 0x03]
    assert len(senses) >= 3 and progress.advanced("sanitize") == 1 << 16
    assert image.read_bytes() == bytes(SIZE)
    assert result.status == Outcome.SUCCESS and result.certificate is not None
    assert certificate(result.certificate.path).sanitization.category is Category.PURGE


def test_blkdiscard_punches_exactly_the_range(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "disk.img"
    canary_image(image, SIZE)
    node = loops.attach(image)
    fd = os.open(node, os.O_RDWR | os.O_EXCL)
    try:
        IoctlExecutor(fd, node).execute(discard(MIB, 2 * MIB))
        os.fsync(fd)
    finally:
        os.close(fd)
    data = image.read_bytes()
    assert data[MIB : 3 * MIB] == bytes(2 * MIB)
    assert data[:MIB].count(CANARY) > 0 and data[3 * MIB :].count(CANARY) > 0


def test_drive_wipe_discard_from_the_command_line(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "stick.img"
    canary_image(image, SIZE)
    node = loops.attach(image)
    home = tmp_path / "home"
    args = ["--include-virtual", "--allow-fixed", "--yes", "--expect", token(node), "--json"]
    done = run_cli("drive", "wipe", "-m", "discard", node, *args, home=home)
    assert done.code == 0, done
    assert image.read_bytes() == bytes(SIZE)
    (report,) = finished(done.out)
    assert report["status"] == "success" and report["sanitize"]["completed"]
    assert report["sanitize"]["check"]["expected"] == "00"
    cert = certificate(Path(report["certificate"]))
    # A discard is Clear at most: the cells may keep the data until the controller erases it.
    assert cert.sanitization.category is Category.CLEAR
    assert {lim.code for lim in cert.limitations} >= {"virtual-disk", "not-purge"}
    assert run_cli("cert", "verify", report["certificate"], home=home).code == 0


def test_sanitize_of_a_virtual_disk_is_refused_with_one_line(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "loop.img"
    canary_image(image, SIZE)
    node = loops.attach(image)
    before = digest(image)
    args = ["--include-virtual", "--allow-fixed", "--yes", "--expect", token(node)]
    done = run_cli("drive", "wipe", "-m", "sanitize:crypto", node, *args, home=tmp_path / "home")
    assert done.code == 3, done
    assert "REFUSED" in done.out and "has no sanitize command of its own" in done.out
    assert "Traceback" not in done.err and digest(image) == before


def test_drive_list_json_shows_what_each_drive_supports(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "listed.img"
    canary_image(image, SIZE)
    node = loops.attach(image)
    done = run_cli("drive", "list", "--all", "--include-virtual", "--json", home=tmp_path / "h")
    assert done.code == 0, done
    (listed,) = [d for d in report_json(done, "drive-list")["items"] if d["node"] == node]
    assert listed["profile"]["transport"] == "block"
    assert listed["profile"]["operations"] == ["blk-discard"]
    assert listed["profile"]["health"] is None


def test_sanitize_methods_are_for_whole_drives_only(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_bytes(b"secret")
    done = run_cli("shred", "-m", "sanitize", target, home=tmp_path / "home")
    assert done.code == 2 and "whole drives only" in done.err and target.exists()
