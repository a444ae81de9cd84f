"""Drive health from real SMART tables and real ``smartctl -j`` output; hidden areas."""

from __future__ import annotations

import subprocess

import pytest

from expunge.core.errors import TargetError
from expunge.drives.identify import smartctl
from expunge.drives.identify.health import (
    SMART_GOOD,
    SMART_THRESHOLD_EXCEEDED,
    HiddenAreas,
    ata_health,
    parse_smart_attributes,
    smart_verdict,
)
from expunge.drives.identify.query import run_query
from expunge.drives.identify.smartctl import parse_smartctl_json
from tests.support.drive_samples import skdump, smartctl_json


def test_a_worn_hard_disk_reports_its_reallocated_and_pending_sectors() -> None:
    blob = skdump("WDC_WD5000AAKS--00TMA0-12.01C01")
    health = ata_health(blob["SMDT"], smart_verdict(*SMART_GOOD))
    assert health.smart_passed is True
    assert health.reallocated_sectors == 63 and health.pending_sectors == 529
    assert health.power_on_hours == 14992 and health.temperature_c == 40


def test_attribute_table_values() -> None:
    table = parse_smart_attributes(skdump("WDC_WD5000AAKS--00TMA0-12.01C01")["SMDT"])
    assert (table[197].value, table[197].worst, table[197].raw) == (194, 193, 529)
    assert 0 not in table


def test_raw_power_on_value_is_reported_as_the_drive_gives_it() -> None:
    # This Maxtor counts attribute 9 in minutes (libatasmart has a quirk for it): the raw
    # value is kept, and smartctl's decoded hours are preferred where it is installed.
    health = ata_health(skdump("Maxtor_96147H8--BAC51KJ0")["SMDT"], None)
    assert health.power_on_hours == 121017 and health.smart_passed is None


def test_smart_return_status_verdicts() -> None:
    assert smart_verdict(*SMART_THRESHOLD_EXCEEDED) is False
    assert smart_verdict(0, 0) is None


def test_short_smart_data_is_refused() -> None:
    with pytest.raises(TargetError):
        ata_health(b"\0" * 100, None)


def test_smartctl_ata_drive() -> None:
    report = parse_smartctl_json(smartctl_json("smart-ata"))
    assert report is not None
    assert (report.model, report.serial, report.firmware) == (
        "WDC WD140EDFZ-11A0VA0",
        "9RK1XXXX",
        "81.00A81",
    )
    h = report.health
    assert h.source == "smartctl" and h.smart_passed is True and h.power_on_hours == 1730
    assert (h.reallocated_sectors, h.pending_sectors, h.uncorrectable_sectors) == (0, 0, 0)


def test_smartctl_failing_drive_behind_a_usb_bridge() -> None:
    report = parse_smartctl_json(smartctl_json("smart-fail2"))
    assert report is not None and report.protocol == "ATA"
    h = report.health
    assert h.smart_passed is False and h.reallocated_sectors == 1975 and h.pending_sectors == 8


def test_smartctl_nvme_and_scsi_drives() -> None:
    nvme = parse_smartctl_json(smartctl_json("smart-nvme"))
    assert nvme is not None and nvme.model == "INTEL SSDPEKNW010T8"
    assert nvme.health.media_errors == 0 and nvme.health.percentage_used == 0
    assert nvme.health.power_on_hours == 2401 and nvme.health.reallocated_sectors is None
    sas = parse_smartctl_json(smartctl_json("smart-scsi"))
    assert sas is not None and sas.health.reallocated_sectors == 56
    assert sas.health.power_on_hours == 43549


def test_smartctl_output_that_is_not_smartctl_json() -> None:
    assert parse_smartctl_json("smartctl: command not found") is None
    assert parse_smartctl_json('{"unrelated": 1}') is None
    odd = parse_smartctl_json('{"smartctl": {}, "power_on_time": {"hours": "12"}}')
    assert odd is not None and odd.health.power_on_hours is None


def test_run_smartctl_reads_the_answer_by_its_exit_status(monkeypatch: pytest.MonkeyPatch) -> None:
    # smartmontools is not installed here: its answers are replayed.
    answers: list[subprocess.CompletedProcess[str] | None] = [
        None,  # not installed, or timed out
        subprocess.CompletedProcess([], 2, stdout="{}", stderr=""),  # device did not open
        # Bit 3: SMART status failing; the answer is complete and must be read.
        subprocess.CompletedProcess([], 8, stdout=smartctl_json("smart-fail2"), stderr=""),
    ]
    monkeypatch.setattr(smartctl, "run_query", lambda tool, args, timeout: answers.pop(0))
    assert smartctl.run_smartctl("/dev/sdz") is None
    assert smartctl.run_smartctl("/dev/sdz") is None
    report = smartctl.run_smartctl("/dev/sdz")
    assert report is not None and report.health.smart_passed is False


def test_run_query_of_a_tool_that_is_not_installed() -> None:
    assert run_query("no-such-tool-expunge", [], 1) is None
    done = run_query("true", [], 5)
    assert done is not None and done.returncode == 0


def test_hidden_area_sizes() -> None:
    assert HiddenAreas(visible=1000, native=1000, factory=1000).to_dict()["hpa_sectors"] == 0
    areas = HiddenAreas(visible=900, native=1000, factory=1200)
    assert (areas.hpa_sectors, areas.dco_sectors) == (100, 200)
    unknown = HiddenAreas(visible=900, native=None, factory=None)
    assert unknown.hpa_sectors is None and unknown.dco_sectors is None
