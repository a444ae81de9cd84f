"""A drive certificate verifies only its own drive, and carries the job's fields.

Two loop devices of the same size differ only by their identity (diskseq: loop devices
have no serial); a third is smaller. Verifying either with the first one's certificate is
refused (exit 3) before a byte is read, and leaves both untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import run_cli
from tests.support.drives import Loops
from tests.support.drivewipe import MIB, canary_image, digest, finished, needs_root, token
from tests.support.json_output import report_json

pytestmark = [needs_root, pytest.mark.root]

SIZE = 8 * MIB


def test_verify_refuses_another_drive_and_the_certificate_carries_the_fields(
    tmp_path: Path, loops: Loops
) -> None:
    images = [tmp_path / f"disk{n}.img" for n in range(3)]
    for image, size in zip(images, (SIZE, SIZE, SIZE // 2), strict=True):
        canary_image(image, size)
    wiped_node, twin, smaller = (loops.attach(image) for image in images)
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[station]\ndestination = "destroyed"\n', encoding="utf-8")
    wiped = run_cli(
        "drive", "wipe", wiped_node, "--include-virtual", "--yes", "--expect", token(wiped_node),
        "-m", "zero", "--asset-tag", "USB-17", "--operator", "Bea", "--json", home=home,
    )  # fmt: skip
    assert wiped.code == 0, wiped.err
    cert = finished(wiped.out)[0]["certificate"]
    before = {image: digest(image) for image in images[1:]}

    for other, words in ((twin, "identity diskseq:"), (smaller, "size ")):
        refused = run_cli("verify", other, "--cert", cert, "--mode", "full", home=home)
        assert refused.code == 3, refused
        assert refused.out == ""
        (line,) = refused.err.splitlines()
        assert f"{other}" in line and "is not the drive the certificate describes" in line
        assert words in line and "nothing was read" in line
    assert {image: digest(image) for image in images[1:]} == before

    assert run_cli("verify", wiped_node, "--cert", cert, home=home).code == 0

    data = json.loads(run_cli("cert", "show", cert, "--json", home=home).out)["certificate"]
    assert data["media"]["asset_tag"] == "USB-17" and data["person"]["name"] == "Bea"
    assert data["destination"] == "destroyed"
    # A loop device's old content may live on in the backing file's filesystem.
    assert data["sanitization"]["post_classification"].startswith("unchanged: not declassified")
    assert "virtual-disk" in data["sanitization"]["post_classification"]

    listed = run_cli("cert", "list", "--target", wiped_node, "--json", home=home)
    (row,) = report_json(listed, "cert-list")["items"]
    assert row["certificate_id"] == data["certificate_id"] and row["operator"] == "Bea"
    assert row["verification"] == "nist passed"
