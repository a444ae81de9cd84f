"""Re-verifying a wiped drive later reads the medium, not the page cache in front of it.

A loop device keeps its own page cache, separate from the backing file's. After the wipe,
the device is read through that cache (which then holds the wiped content), and a block is
changed in the backing file behind it: a buffered read of the device still shows the
wiped block, but ``expunge verify DEVICE --cert C`` finds the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support import run_cli
from tests.support.drives import Loops
from tests.support.drivewipe import MIB, canary_image, finished, needs_root, token

pytestmark = [needs_root, pytest.mark.root]

SIZE = 32 * MIB
TAMPERED = 5 * MIB + 8192  # a 4 KiB block in the middle of the device


def test_verify_with_the_certificate_sees_past_the_device_cache(
    tmp_path: Path, loops: Loops
) -> None:
    image = tmp_path / "disk.img"
    canary_image(image, SIZE)
    node = loops.attach(image)
    home = tmp_path / "home"
    wiped = run_cli(
        "drive",
        "wipe",
        node,
        "--include-virtual",
        "--yes",
        "--expect",
        token(node),
        "-m",
        "zero",
        "--json",
        home=home,
    )
    assert wiped.code == 0, wiped.err
    cert = finished(wiped.out)[0]["certificate"]

    fresh = run_cli("verify", node, "--cert", cert, "--mode", "full", home=home)
    assert fresh.code == 0, fresh.out + fresh.err

    # The device's page cache lives while someone holds it open: fill it with the wiped
    # content, then change the medium behind it.
    with open(node, "rb", buffering=0) as device:
        while device.read(4 * MIB):
            pass
        fd = os.open(image, os.O_WRONLY)
        try:
            os.pwrite(fd, b"\xa5" * 4096, TAMPERED)
            os.fsync(fd)
        finally:
            os.close(fd)
        assert os.pread(device.fileno(), 4096, TAMPERED) == bytes(4096)  # the cache hides it

        caught = run_cli("verify", node, "--cert", cert, "--mode", "full", "--json", home=home)
    assert caught.code == 5, caught.out + caught.err
    report = json.loads(caught.out)
    assert report["cache_bypass"] == "O_DIRECT"
    (offset,) = report["mismatches"]  # the one sample holding the changed block
    assert offset <= TAMPERED < offset + report["block_size"]
    assert "do not match" in caught.err
