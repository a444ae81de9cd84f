"""Turning what a destruction did into a signed certificate, and keeping the station chain.

``outcomes`` is what was done, ``claims`` the NIST category it earns, ``drafts`` the
certificate records made of it, ``station`` who signs and where it is written; ``expected``
reads back from a certificate what a target should hold.
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.certificates.register import CERT_SUFFIX
    from expunge.workflows.certify.claims import (
        FLASH_NOTE,
        KEY_ERASE_METHOD,
        flash_note,
        key_erasure_sanitization,
        luks_sanitization,
        sanitization,
    )
    from expunge.workflows.certify.drafts import (
        drive_luks_draft,
        drive_overwrite_draft,
        drive_sanitize_draft,
        error_records,
        file_subject,
        files_draft,
        journal_notes,
        key_erasure_record,
        limitation_record,
        luks_container_draft,
        luks_limitations,
        luks_record,
        pass_record,
        subject_record,
        verification_record,
    )
    from expunge.workflows.certify.erase_work import DriveWork, KeyErasureOutcome, LuksWork
    from expunge.workflows.certify.expected import (
        check_same_drive,
        drive_differences,
        final_pattern_for,
    )
    from expunge.workflows.certify.fields import JobFields, post_classification, with_fields
    from expunge.workflows.certify.outcomes import (
        FileOutcome,
        FilesWork,
        checked_status,
        mismatch_found,
    )
    from expunge.workflows.certify.station import (
        CertificateDraft,
        IssuedCertificate,
        Station,
        issue,
    )

__all__ = [
    "CERT_SUFFIX",
    "FLASH_NOTE",
    "KEY_ERASE_METHOD",
    "CertificateDraft",
    "DriveWork",
    "FileOutcome",
    "FilesWork",
    "IssuedCertificate",
    "JobFields",
    "KeyErasureOutcome",
    "LuksWork",
    "Station",
    "check_same_drive",
    "checked_status",
    "drive_differences",
    "drive_luks_draft",
    "drive_overwrite_draft",
    "drive_sanitize_draft",
    "error_records",
    "file_subject",
    "files_draft",
    "final_pattern_for",
    "flash_note",
    "issue",
    "journal_notes",
    "key_erasure_record",
    "key_erasure_sanitization",
    "limitation_record",
    "luks_container_draft",
    "luks_limitations",
    "luks_record",
    "luks_sanitization",
    "mismatch_found",
    "pass_record",
    "post_classification",
    "sanitization",
    "subject_record",
    "verification_record",
    "with_fields",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
