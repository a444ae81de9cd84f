"""The ledger tied to destruction and certificates (layer 2).

The ledger (layer 1) knows nothing of certificates and the certificates nothing of the
ledger; this module joins them:

- *registering and copying*: a document's digest and size are read from the file itself;
  its classification must be a level of the station's policy;
- *finding what a destruction touches*: outstanding locations recorded at the paths about
  to be destroyed, each with the classification that sets the weakest destruction allowed
  (checked before anything is written);
- *recording*: after a certificate is issued, ``destroy`` events citing it (its id, the
  SHA-256 of its payload and the signed envelope itself);
- *the station's side*: a ledger opened with the ``Station`` signs every entry it appends
  (record format v2, see ``ledger/signing.py``) and keeps the station's signed head record
  (``<home>/ledger-head``, see ``head``) in step after every commit.

**The ledger anchor of a certificate.** A certificate is signed before the ``destroy``
event that cites it can exist (the event carries the signed envelope), so the anchor it
records is the ledger's head read right before signing: ``(ledger id, seq, hash)`` of the
last entry then. It says "this ledger had at least ``seq`` entries, and entry ``seq`` had
this hash, when the certificate was issued"; every event citing the certificate comes
later (``seq`` greater than the anchor's). An audit holding the certificate detects a
ledger cut below the anchor or rewritten up to it; the events after the anchor are
covered by a second check: every certificate naming a document (``FileSubject.document_id``)
must be cited by a ``destroy`` event of that document.

**Policy file.** ``<home>/policy.toml`` may hold a ``[classification.LEVEL]`` table per
level (keys ``methods``, ``min_passes``, ``min_verify``; see
``ledger/classification.py``). A table for a level replaces that level's rule; a name
that is not a level is refused (a typo must not silently leave a level at its defaults).
Other top-level tables belong to ``expunge sweep``, which validates them.
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.workflows.records.batch import (
        FileList,
        Registered,
        list_files,
        read_all,
        register_documents,
    )
    from expunge.workflows.records.checkpoints import current_anchor, station_signer, trust_verifier
    from expunge.workflows.records.confirmation import (
        classification_of,
        confirmed_documents,
        document_ids,
    )
    from expunge.workflows.records.content import FileContent, read_content
    from expunge.workflows.records.head import (
        HeadRecord,
        StationSigner,
        head_record_path,
        read_head_record,
        record_head,
    )
    from expunge.workflows.records.lookup import (
        DocumentPlan,
        RegisteredLocation,
        document,
        here,
        locate,
        plan_document,
    )
    from expunge.workflows.records.opening import (
        DEFERRED_NOTE,
        Deferred,
        LedgerLink,
        create_ledger,
        existing_ledger,
        recording_ledger,
        require_ledger,
        station_ledger,
    )
    from expunge.workflows.records.outbox import (
        Delivered,
        Sync,
        check_every_level,
        deliver,
        queue_if_unreachable,
        queue_record,
        undeliverable,
    )
    from expunge.workflows.records.pending import pending_records, shared
    from expunge.workflows.records.policy import (
        check_policy,
        describe_rule,
        load_policy,
        policy_from_toml,
    )
    from expunge.workflows.records.recording import (
        LedgerUpdate,
        RecordedDestroy,
        record_files_destroyed,
        record_key_erased,
        record_medium_destroyed,
    )
    from expunge.workflows.records.register import (
        record_copy,
        record_transfer,
        record_write_off,
        register_document,
    )

__all__ = [
    "DEFERRED_NOTE",
    "Deferred",
    "Delivered",
    "DocumentPlan",
    "FileContent",
    "FileList",
    "HeadRecord",
    "LedgerLink",
    "LedgerUpdate",
    "RecordedDestroy",
    "Registered",
    "RegisteredLocation",
    "StationSigner",
    "Sync",
    "check_every_level",
    "check_policy",
    "classification_of",
    "confirmed_documents",
    "create_ledger",
    "current_anchor",
    "deliver",
    "describe_rule",
    "document",
    "document_ids",
    "existing_ledger",
    "head_record_path",
    "here",
    "list_files",
    "load_policy",
    "locate",
    "pending_records",
    "plan_document",
    "policy_from_toml",
    "queue_if_unreachable",
    "queue_record",
    "read_all",
    "read_content",
    "read_head_record",
    "record_copy",
    "record_files_destroyed",
    "record_head",
    "record_key_erased",
    "record_medium_destroyed",
    "record_transfer",
    "record_write_off",
    "recording_ledger",
    "register_document",
    "register_documents",
    "require_ledger",
    "shared",
    "station_ledger",
    "station_signer",
    "trust_verifier",
    "undeliverable",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
