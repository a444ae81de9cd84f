"""A job's fields over the station's defaults, and a post-sanitization classification that
never declassifies media the certificate itself says may still hold old content."""

from __future__ import annotations

from dataclasses import replace

import pytest

from expunge.certificates import Limitation
from expunge.core.config import StationSettings
from expunge.core.errors import UsageError
from expunge.core.outcome import Outcome
from expunge.workflows.certify import JobFields, post_classification, with_fields
from tests.support.tamper_fixtures import sample_certificate, sample_drive_certificate

STATION = StationSettings("station operator", media_source="desk 3", destination="storage")


def test_a_clean_success_keeps_the_drafted_claim() -> None:
    drive = sample_drive_certificate()
    assert drive.outcome is Outcome.SUCCESS and not drive.limitations
    assert post_classification(drive) == drive.sanitization.post_classification


def test_a_recorded_limitation_keeps_the_classification() -> None:
    # sample_certificate records flash-media: wear levelling may keep old copies.
    claim = post_classification(sample_certificate())
    assert claim.startswith("unchanged: not declassified")
    assert "flash-media" in claim


def test_a_name_only_limitation_does_not_hold_back_a_clean_success() -> None:
    drive = sample_drive_certificate()
    noted = replace(
        drive,
        limitations=(Limitation("journal-metadata", "names may survive in the journal", "-"),),
    )
    assert post_classification(noted) == drive.sanitization.post_classification


def test_anything_but_success_is_not_declassified() -> None:
    failed = sample_certificate(mismatches=3)
    assert failed.outcome is Outcome.FAILED
    assert post_classification(failed) == (
        "unchanged: not declassified (the destruction's outcome is failed)"
    )
    interrupted = replace(sample_drive_certificate(), interrupted_by="SIGINT")
    assert "outcome is interrupted" in post_classification(interrupted)


def test_job_fields_win_over_station_defaults_which_win_over_the_draft() -> None:
    drive = sample_drive_certificate()
    filled = with_fields(drive, JobFields(), STATION)
    assert filled.media.source == "desk 3" and filled.destination == "storage"
    assert filled.media.classification == drive.media.classification
    job = JobFields(
        asset_tag="INV-7", media_source="HR", destination="returned", classification="x"
    )
    given = with_fields(drive, job, STATION)
    assert (given.media.asset_tag, given.media.source, given.destination) == (
        "INV-7",
        "HR",
        "returned",
    )
    assert given.media.classification == "x"


def test_the_station_destination_applies_to_drives_not_to_files() -> None:
    files = with_fields(sample_certificate(), JobFields(), STATION)
    assert files.destination == sample_certificate().destination
    told = with_fields(sample_certificate(), JobFields(destination="destroyed"), STATION)
    assert told.destination == "destroyed"


def test_an_unknown_destination_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="reuse, destroyed, returned, storage"):
        JobFields(destination="shredder")
