"""The certificate fields added for drive health, hidden areas, the drive's own erase and
free space: optional, so a certificate issued before them reads, verifies and hashes
exactly as it did; and strict, like every other field."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from expunge.certificates import Certificate, Outcome, read_envelope
from expunge.certificates.check import verify_certificate_file
from expunge.certificates.drive_facts import (
    DeviceCommandRecord,
    FreeSpaceSubject,
    HealthRecord,
    HiddenAreasRecord,
)
from expunge.certificates.trust import load_trust
from expunge.core.errors import IntegrityError
from tests.support.drive_samples import DATA
from tests.support.tamper_fixtures import sample_drive_certificate

OLD = DATA / "certificates" / "drive-wipe-before-health.cert.json"
OLD_KEY = DATA / "certificates" / "station.pub"
HEALTH = HealthRecord("smartctl", False, 65592, 1975, 8, 0, None, None, 31)
HIDDEN = HiddenAreasRecord(visible=900, native=1000, factory=1000, exposed=True)


def test_a_certificate_from_before_these_fields_still_verifies_and_hashes_the_same() -> None:
    check = verify_certificate_file(OLD, load_trust([OLD_KEY]))
    assert check.ok, check.reasons
    payload = read_envelope(OLD).payload
    cert = Certificate.from_json(payload)
    assert cert.canonical() == payload  # so its digest, and every chain citing it, holds
    subject = cert.subjects[0].subject
    assert subject.health is None and subject.hidden_areas is None  # type: ignore[union-attr]
    assert cert.subjects[0].device_command is None


def _drive_certificate() -> Certificate:
    cert = sample_drive_certificate()
    record = cert.subjects[0]
    subject = replace(record.subject, firmware="81.00A81", health=HEALTH, hidden_areas=HIDDEN)
    return replace(cert, subjects=(replace(record, subject=subject),))


def test_health_and_hidden_areas_round_trip_and_are_shown() -> None:
    cert = _drive_certificate()
    again = Certificate.from_json(cert.canonical())
    assert again == cert
    subject = json.loads(cert.canonical())["subjects"][0]["subject"]
    assert subject["health"]["reallocated_sectors"] == 1975
    assert subject["hidden_areas"] == {
        "visible": 900, "native": 1000, "factory": 1000, "exposed": True,
    }  # fmt: skip


def test_absent_facts_are_left_out_not_written_as_null() -> None:
    data = json.loads(sample_drive_certificate().canonical())
    assert not {"firmware", "health", "hidden_areas"} & data["subjects"][0]["subject"].keys()
    assert "device_command" not in data["subjects"][0]


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (("subject", "health", "pending_sectors"), "8", "must be an integer"),
        (("subject", "hidden_areas", "exposed"), 1, "must be true or false"),
        (("subject", "health", "smart_status"), True, "unknown field 'smart_status'"),
        (("subject", "firmwares"), "x", "unknown field 'firmwares'"),
    ],
)
def test_the_new_fields_are_as_strict_as_the_old(
    path: tuple[str, ...], value: object, words: str
) -> None:
    data = json.loads(_drive_certificate().canonical())
    node = data["subjects"][0]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(IntegrityError, match=words):
        Certificate.from_dict(data)


def test_a_drive_command_that_did_not_complete_is_not_sanitized() -> None:
    cert = sample_drive_certificate()
    record = cert.subjects[0]
    command = DeviceCommandRecord(
        "nvme", "nvme-sanitize-crypto", "NVMe Sanitize, Crypto Erase",
        "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", False, "sanitize failed",
    )  # fmt: skip
    # The drive's erase in place of passes; its read-back compares before and after.
    checks = tuple(replace(v, pass_index=None) for v in record.verifications)
    erased = replace(record, planned_passes=0, passes=(), verifications=checks)
    failed = replace(cert, subjects=(replace(erased, device_command=command),))
    assert not failed.subjects[0].sanitized and failed.outcome is not Outcome.SUCCESS
    done = replace(command, completed=True)
    ok = replace(failed, subjects=(replace(failed.subjects[0], device_command=done),))
    assert ok.subjects[0].sanitized
    assert Certificate.from_json(ok.canonical()) == ok


def test_free_space_subject_round_trips_and_reads_as_what_it_is() -> None:
    cert = sample_drive_certificate()
    record = cert.subjects[0]
    space = FreeSpaceSubject("/media/stick", "vfat", 41, "/dev/sdb1", 7 << 20, None, 212)
    fill = replace(cert, target="/media/stick", subjects=(replace(record, subject=space),))
    assert Certificate.from_json(fill.canonical()) == fill
    assert "free space of /media/stick (vfat on /dev/sdb1): 7340032 bytes overwritten" in (
        space.describe()
    )
