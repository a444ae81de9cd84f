"""``--include-hidden-areas``: a host protected area opened (volatile SET MAX ADDRESS) for
an overwrite and closed again. The HPA is real bytes here: a loop device limited to the
first 6 MiB of an 8 MiB image, whose limit the ATA test double moves as a drive's
maximum address moves."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from expunge.certificates import Outcome
from expunge.core.clock import utc_now
from expunge.drives import Identity
from expunge.drives.identify.probe import probe_drive
from expunge.shred.methods import get_method
from expunge.verify import VerifyOptions
from expunge.workflows import drive_wipe
from expunge.workflows.drive_wipe.events import NULL_EVENTS
from expunge.workflows.drive_wipe.worker import Worker
from tests.support.drive_samples import identify, with_words
from tests.support.drives import Loops
from tests.support.drivewipe import CANARY, MIB, canary_image, certificate, digest, needs_root
from tests.support.sanitize_doubles import AtaDriveTestDouble
from tests.support.sanitizeflow import open_as, station

pytestmark = [needs_root, pytest.mark.root]
VISIBLE, NATIVE = 6 * MIB, 8 * MIB


def _wipe(tmp_path: Path, loops: Loops, *, include: bool) -> tuple[drive_wipe.DriveWipe, Path, str]:
    image = tmp_path / "hpa.img"
    canary_image(image, NATIVE)
    node = loops.attach(image, size_limit=VISIBLE)
    home = tmp_path / "home"
    device = open_as(node, home, "ata", rotational=True)
    sectors = VISIBLE // 512
    data = with_words(
        identify("WDC_WD5000AAKS--00TMA0-12.01C01"), w100=sectors, w101=0, w102=0, w103=0
    )
    double = AtaDriveTestDouble(device.fd, VISIBLE, data, native=NATIVE // 512)
    device.drive = replace(device.drive, profile=probe_drive(device.drive, double, smartctl=None))
    request = drive_wipe.DriveRequest(
        device.drive,
        Identity.from_drive(device.drive),
        get_method("zero"),
        VerifyOptions("full"),
        include_virtual=True,
        include_hidden_areas=include,
    )
    worker = Worker(device, request, station(home), NULL_EVENTS, None, executor=double)
    return worker.run(utc_now()), image, node


def _size(node: str) -> int:
    return int(Path(f"/sys/block/{Path(node).name}/size").read_text()) * 512


def test_the_hpa_is_opened_overwritten_and_closed_again(tmp_path: Path, loops: Loops) -> None:
    result, image, node = _wipe(tmp_path, loops, include=True)
    assert result.status == Outcome.SUCCESS, result.problem
    assert image.read_bytes() == bytes(NATIVE)  # the hidden 2 MiB too
    assert _size(node) == VISIBLE  # the maximum address was set back
    assert result.wipe is not None and result.wipe.identity.size == NATIVE
    assert result.certificate is not None
    cert = certificate(result.certificate.path)
    hidden = cert.subjects[0].subject.hidden_areas  # type: ignore[union-attr]
    assert hidden is not None and hidden.exposed
    assert (hidden.visible, hidden.native) == (VISIBLE // 512, NATIVE // 512)
    codes = {lim.code for lim in cert.limitations}
    assert "hidden-areas-checked" in codes and "hidden-area" not in codes


def test_without_the_option_the_hpa_keeps_its_data_and_the_certificate_says_so(
    tmp_path: Path, loops: Loops
) -> None:
    result, image, _ = _wipe(tmp_path, loops, include=False)
    data = image.read_bytes()
    assert data[:VISIBLE] == bytes(VISIBLE) and data[VISIBLE:].count(CANARY) > 0
    assert result.certificate is not None
    (lim,) = [
        x for x in certificate(result.certificate.path).limitations if x.code == "hidden-area"
    ]
    assert "4096 sectors" in lim.text and "--include-hidden-areas" in lim.remedy


def test_a_drive_that_cannot_report_its_native_maximum_is_refused(
    tmp_path: Path, loops: Loops
) -> None:
    image = tmp_path / "plain.img"
    canary_image(image, VISIBLE)
    node = loops.attach(image)
    before = digest(image)
    device = open_as(node, tmp_path / "home", "virtual")
    request = drive_wipe.DriveRequest(
        device.drive,
        Identity.from_drive(device.drive),
        get_method("zero"),
        include_virtual=True,
        include_hidden_areas=True,
    )
    result = Worker(device, request, station(tmp_path / "home"), NULL_EVENTS, None).run(utc_now())
    assert result.refused and result.problem is not None
    assert "READ NATIVE MAX ADDRESS" in result.problem.message
    assert digest(image) == before
