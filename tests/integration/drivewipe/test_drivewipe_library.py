"""``drive_wipe`` as a library: refusals recorded per drive, interruption, every-pass checks,
and what the certificate says about the medium (pure functions on built drive facts)."""

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
    assert len(list(signer.home.certificates.iterdir())) == 1


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


# ---------------------------------------------------------------- the medium, from facts


def facts(**overrides: object) -> Drive:
    values: dict[str, object] = {
        "node": "/dev/sdx",
        "name": "sdx",
        "devnum": "8:96",
        "size": 8 << 30,
        "bus": "usb",
        "removable": True,
        "rotational": True,
    }
    values.update(overrides)
    return Drive(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "flash", "kind"),
    [
        ({}, True, "USB flash drive"),  # sticks often claim to be rotational
        ({"removable": False}, False, "USB hard disk drive"),
        ({"bus": "ata", "removable": False}, False, "hard disk drive"),
        ({"bus": "ata", "removable": False, "rotational": False}, True, "solid-state drive"),
        ({"bus": "nvme", "removable": False, "rotational": False}, True, "NVMe SSD"),
        ({"bus": "mmc"}, True, "memory card"),
        ({"bus": "virtual", "rotational": False}, False, "virtual disk"),
    ],
)
def test_flash_and_media_type(overrides: dict[str, object], flash: bool, kind: str) -> None:
    drive = facts(**overrides)
    assert drive_wipe.is_flash(drive) is flash
    assert drive_wipe.media_type(drive) == kind
    codes = [lim.code for lim in drive_wipe.media_limitations(drive)]
    expected = ["flash-media"] if flash else (["virtual-disk"] if drive.virtual else [])
    assert codes == expected


HDPARM_HPA = "\n/dev/sdx:\n max sectors   = 976771055/976773168, HPA is enabled\n"
HDPARM_NO_HPA = "\n/dev/sdx:\n max sectors   = 976773168/976773168, HPA is disabled\n"


@pytest.mark.parametrize(
    ("output", "code", "words"),
    [
        (HDPARM_HPA, "hidden-area", "hides 2113 sectors"),
        (HDPARM_NO_HPA, "hidden-areas-dco-unknown", "no host protected area"),
        (None, "hidden-areas-unknown", "not installed"),
        ("garbage", "hidden-areas-unknown", "no answer"),
    ],
)
def test_hidden_areas_on_ata(output: str | None, code: str, words: str) -> None:
    asked: list[str] = []

    def query(node: str) -> str | None:
        asked.append(node)
        return output

    drive = facts(bus="ata", removable=False)
    limitation = drive_wipe.hidden_area_limitation(drive, query)
    assert asked == ["/dev/sdx"]
    assert limitation.code == code
    assert words in limitation.text


def test_hidden_areas_are_unknown_off_ata_and_nothing_is_asked() -> None:
    def query(node: str) -> str | None:
        raise AssertionError(f"hdparm must not run on {node}")

    for bus in ("usb", "nvme", "virtual"):
        limitation = drive_wipe.hidden_area_limitation(facts(bus=bus), query)
        assert limitation.code == "hidden-areas-unknown"
        assert "unknown" in limitation.text


def test_parse_hdparm_max() -> None:
    assert drive_wipe.parse_hdparm_max(HDPARM_HPA) == (976771055, 976773168)
    assert drive_wipe.parse_hdparm_max("SG_IO: bad/missing sense data") is None
