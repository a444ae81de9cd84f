"""A drive's own facts (health, hidden areas) as certificate records."""

from __future__ import annotations

from dataclasses import asdict

from expunge.certificates.drive_facts import HealthRecord, HiddenAreasRecord
from expunge.drives.identify import DriveHealth, HiddenAreas


def health_record(health: DriveHealth) -> HealthRecord:
    """What the drive reported of its health, as the certificate records it."""
    return HealthRecord(**asdict(health))


def hidden_record(hidden: HiddenAreas) -> HiddenAreasRecord:
    """Sectors beyond the host's reach, as the certificate records them."""
    return HiddenAreasRecord(hidden.visible, hidden.native, hidden.factory, hidden.exposed)
