"""What the medium allows: flash or not, the certificate's media type, and hidden areas
(pure functions on built drive facts; hdparm is replaced by a query function)."""

from __future__ import annotations

import pytest

from expunge.drives import Drive, media


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
    assert media.is_flash(drive) is flash
    assert media.media_type(drive) == kind
    codes = [lim.code for lim in media.media_limitations(drive)]
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
    limitation = media.hidden_area_limitation(drive, query)
    assert asked == ["/dev/sdx"]
    assert limitation.code == code
    assert words in limitation.text


def test_hidden_areas_are_unknown_off_ata_and_nothing_is_asked() -> None:
    def query(node: str) -> str | None:
        raise AssertionError(f"hdparm must not run on {node}")

    for bus in ("usb", "nvme", "virtual"):
        limitation = media.hidden_area_limitation(facts(bus=bus), query)
        assert limitation.code == "hidden-areas-unknown"
        assert "unknown" in limitation.text


def test_parse_hdparm_max() -> None:
    assert media.parse_hdparm_max(HDPARM_HPA) == (976771055, 976773168)
    assert media.parse_hdparm_max("SG_IO: bad/missing sense data") is None
