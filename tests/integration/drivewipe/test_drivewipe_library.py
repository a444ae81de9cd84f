"""``drive_wipe`` as a library: refusals recorded per drive, interruption, every-pass checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from expunge.core.config import Home, StationSettings
from expunge.core.errors import UsageError
from expunge.core.progress import StopRequest
from expunge.drives import Drive, Identity, find_drive
from expunge.shred.methods import Method, get_method
from expunge.verify import VerifyOptions
from expunge.workflows import certify, drive_wipe
from tests.support.drives import Loops
from tests.support.drivewipe import CANARY, MIB, canary_image, certificate, digest, needs_root

SIZE = 8 * MIB


def station(tmp_path: Path) -> certify.Station:
    return certify.Station.open(Home(tmp_path / "home"), StationSettings("tester"), None)


def request(
    drive: Drive,
    confirmed: Identity | None = None,
    *,
    method: Method | None = None,
    verify: VerifyOptions | None = None,
) -> drive_wipe.DriveRequest:
    return drive_wipe.DriveRequest(
        drive,
        confirmed or Identity.from_drive(drive),
        method or get_method("zero"),
        verify or VerifyOptions(),
        include_virtual=True,
    )


@needs_root
@pytest.mark.root
def test_stale_identity_is_refused_and_the_other_drive_is_still_wiped(
    tmp_path: Path, loops: Loops
) -> None:
    first, second, other = (tmp_path / f"{n}.img" for n in ("first", "second", "other"))
    for image, tag in ((first, b"1"), (second, b"2"), (other, b"3")):
        canary_image(image, SIZE, tag=tag)
    node = loops.attach(first)
    confirmed_drive = find_drive(node)
    confirmed = Identity.from_drive(confirmed_drive)
    good = find_drive(loops.attach(other))

    # Between confirmation and the write, a different medium appears behind the node.
    loops.detach(node)
    if not loops.reattach(node, second):
        pytest.skip(f"another process attached {node} between detach and re-attach")
    untouched = digest(second)

    signer = station(tmp_path)
    stale, wiped = drive_wipe.wipe_drives(
        [request(confirmed_drive, confirmed), request(good)], signer
    )
    assert stale.status == "refused"
    assert stale.wipe is None and stale.certificate is None
    assert stale.problem is not None and stale.problem.exit_code == 3
    assert "not the drive that was confirmed" in stale.problem.diagnostics()
    assert "diskseq" in stale.problem.diagnostics()
    assert digest(second) == untouched

    assert wiped.status == "success"
    assert wiped.certificate is not None
    assert other.read_bytes() == bytes(SIZE)
    assert len(list(signer.home.certificates.glob("*.cert.json"))) == 1


@needs_root
@pytest.mark.root
def test_a_stop_request_gives_an_interrupted_certificate_never_success(
    tmp_path: Path, loops: Loops
) -> None:
    image = tmp_path / "disk.img"
    canary_image(image, SIZE)
    drive = find_drive(loops.attach(image))
    stop = StopRequest()
    stop.request("SIGTERM")
    (result,) = drive_wipe.wipe_drives([request(drive)], station(tmp_path), stop=stop)
    assert result.status == "interrupted"
    assert result.verification is None
    assert result.certificate is not None
    cert = certificate(result.certificate.path)
    assert cert.outcome.value == "interrupted"
    assert cert.interrupted_by == "SIGTERM"
    assert CANARY in image.read_bytes()


@needs_root
@pytest.mark.root
def test_verify_all_reads_back_every_pass(tmp_path: Path, loops: Loops) -> None:
    image = tmp_path / "disk.img"
    canary_image(image, SIZE)
    drive = find_drive(loops.attach(image))
    verify = VerifyOptions("quick", coverage=5.0, every_pass=True)
    (result,) = drive_wipe.wipe_drives(
        [request(drive, method=get_method("dod-3"), verify=verify)],
        station(tmp_path),
    )
    assert result.status == "success", result.to_dict()
    assert len(result.pass_verifications) == 2
    assert result.verification is not None
    assert all(
        v.cache_bypass == "O_DIRECT" for v in (*result.pass_verifications, result.verification)
    )
    assert result.certificate is not None
    (record,) = certificate(result.certificate.path).subjects
    assert [v.pass_index for v in record.verifications] == [0, 1, 2]
    assert [p.key_hex is not None for p in record.passes] == [False, False, True]
    assert CANARY not in image.read_bytes()


def test_a_node_named_twice_is_a_usage_error(tmp_path: Path) -> None:
    drive = Drive(node="/dev/sdx", name="sdx", devnum="8:96", size=SIZE, bus="usb", removable=True)
    with pytest.raises(UsageError, match="named twice"):
        drive_wipe.wipe_drives([request(drive), request(drive)], station(tmp_path))
    assert not (tmp_path / "home").exists()
