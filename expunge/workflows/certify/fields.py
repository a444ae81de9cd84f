"""The per-job fields of a certificate (NIST SP 800-88's operator, media source, asset tag,
destination, classification) and the honest post-sanitization classification.

A job's fields (``--operator``, ``--asset-tag``, ...) win over the station's defaults
(``[station]`` in config.toml), which win over what the workflow drafted. The
post-sanitization classification is decided last, from the certificate itself: media
whose destruction did not succeed, or whose certificate records a limitation (old copies
may persist), are never declared declassified.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from expunge.certificates import Certificate, is_drive
from expunge.core.config import DESTINATIONS, StationSettings
from expunge.core.errors import UsageError
from expunge.core.outcome import Outcome

# Limitations that say nothing about surviving content: a checked hidden area, and the
# file name and metadata a journaling filesystem may keep (the content was overwritten in
# place). Every other limitation means old content may persist somewhere.
_CONTENT_NEUTRAL = frozenset({"hidden-areas-checked", "journal-metadata"})


@dataclass(frozen=True)
class JobFields:
    """What the operator said about this one job; None: not said (defaults apply)."""

    operator: str | None = None
    asset_tag: str | None = None
    media_source: str | None = None
    destination: str | None = None
    classification: str | None = None

    def __post_init__(self) -> None:
        if self.destination is not None and self.destination not in DESTINATIONS:
            raise UsageError(
                f"unknown media destination {self.destination!r}",
                target="--destination",
                remedy=f"choose one of {', '.join(DESTINATIONS)}",
            )


def _whole_media(certificate: Certificate) -> bool:
    return bool(certificate.subjects) and all(is_drive(r.subject) for r in certificate.subjects)


def post_classification(certificate: Certificate) -> str:
    """What the media may be treated as now: the drafted claim only for a success with no
    recorded limitation under which old content may persist (an accepted copy-on-write
    filesystem, flash, a virtual disk...); otherwise the classification stays what it was."""
    drafted = certificate.sanitization.post_classification
    outcome = certificate.outcome
    if outcome is not Outcome.SUCCESS:
        return f"unchanged: not declassified (the destruction's outcome is {outcome})"
    codes = sorted({lim.code for lim in certificate.limitations} - _CONTENT_NEUTRAL)
    if codes:
        return (
            f"unchanged: not declassified (limitations recorded: {', '.join(codes)}; old "
            "content may persist)"
        )
    return drafted


def with_fields(certificate: Certificate, job: JobFields, settings: StationSettings) -> Certificate:
    """``certificate`` with the job's and the station's fields filled in, and its
    post-sanitization classification made honest.

    The station's default destination applies to whole-media certificates (drives), where
    NIST's "media destination" means the medium; a file's certificate keeps what happened
    to the file unless ``--destination`` says otherwise.
    """
    media = replace(
        certificate.media,
        source=job.media_source or settings.media_source or certificate.media.source,
        classification=job.classification or certificate.media.classification,
        asset_tag=job.asset_tag or certificate.media.asset_tag,
    )
    destination = job.destination or certificate.destination
    if job.destination is None and settings.destination and _whole_media(certificate):
        destination = settings.destination
    filled = replace(certificate, media=media, destination=destination)
    honest = replace(filled.sanitization, post_classification=post_classification(filled))
    return replace(filled, sanitization=honest)
