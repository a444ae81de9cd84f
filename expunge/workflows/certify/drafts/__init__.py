"""The one place what a destruction did becomes a certificate draft: records of passes and
read-backs, and the drafts of files, LUKS erases and whole drives."""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.workflows.certify.drafts.drives import drive_luks_draft, drive_overwrite_draft
    from expunge.workflows.certify.drafts.files import file_subject, files_draft, key_erasure_record
    from expunge.workflows.certify.drafts.luks import (
        luks_container_draft,
        luks_limitations,
        luks_record,
    )
    from expunge.workflows.certify.drafts.records import (
        error_records,
        journal_notes,
        limitation_record,
        pass_record,
        subject_record,
        verification_record,
    )
    from expunge.workflows.certify.drafts.sanitize import drive_sanitize_draft

__all__ = [
    "drive_luks_draft",
    "drive_overwrite_draft",
    "drive_sanitize_draft",
    "error_records",
    "file_subject",
    "files_draft",
    "journal_notes",
    "key_erasure_record",
    "limitation_record",
    "luks_container_draft",
    "luks_limitations",
    "luks_record",
    "pass_record",
    "subject_record",
    "verification_record",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
