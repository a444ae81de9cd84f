"""Signed destruction certificates: the model, DSSE envelopes, station keys, trust, checks.

Knows nothing of wiping: layer 2 maps wipe and verification reports into these types.
The PDF renderer lives in ``expunge.certificates.pdf`` (imported on demand: it pulls in
fpdf2).
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.certificates.check import (
        CertificateCheck,
        Finding,
        verify_certificate,
        verify_certificate_file,
    )
    from expunge.certificates.countersignature import (
        CountersignatureCheck,
        CountersignatureStatus,
        Validation,
        countersign,
    )
    from expunge.certificates.drive_facts import DriveSubject
    from expunge.certificates.dsse import (
        PAYLOAD_TYPE,
        Envelope,
        Signature,
        keyid,
        pae,
        sign_certificate,
        sign_envelope,
    )
    from expunge.certificates.fast_read import FileCertificateFacts, file_certificate_facts
    from expunge.certificates.key_erasure import KeyErasure
    from expunge.certificates.keyinfo import KeyInfo
    from expunge.certificates.keys import (
        ensure_key,
        fingerprint,
        init_key,
        key_info,
        load_private_key,
        load_public_key,
        public_key_pem,
        write_public_key,
    )
    from expunge.certificates.model import (
        SCHEMA_ID,
        SCHEMA_VERSION,
        Category,
        Certificate,
        ErrorRecord,
        LedgerAnchor,
        Limitation,
        Media,
        MethodUsed,
        Person,
        Sanitization,
        new_certificate_id,
    )
    from expunge.certificates.reasons import CertificateError, Reason
    from expunge.certificates.render import render_text
    from expunge.certificates.storage import read_envelope, write_envelope
    from expunge.certificates.subjects import (
        ByteRange,
        FileSubject,
        PassKind,
        PassRecord,
        SubjectRecord,
        VerificationRecord,
        VerificationStatus,
        is_drive,
    )
    from expunge.certificates.trust import Role, TrustedKey, TrustProblem, TrustStore, load_trust
    from expunge.certificates.verified import (
        VerifiedEnvelope,
        read_signed_certificate,
        verify_certificate_signature,
        verify_envelope,
    )
    from expunge.core.clock import rfc3339
    from expunge.core.outcome import Outcome
    from expunge.core.sha256 import sha256_hex

__all__ = [
    "PAYLOAD_TYPE",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "ByteRange",
    "Category",
    "Certificate",
    "CertificateCheck",
    "CertificateError",
    "CountersignatureCheck",
    "CountersignatureStatus",
    "DriveSubject",
    "Envelope",
    "ErrorRecord",
    "FileCertificateFacts",
    "FileSubject",
    "Finding",
    "KeyErasure",
    "KeyInfo",
    "LedgerAnchor",
    "Limitation",
    "Media",
    "MethodUsed",
    "Outcome",
    "PassKind",
    "PassRecord",
    "Person",
    "Reason",
    "Role",
    "Sanitization",
    "Signature",
    "SubjectRecord",
    "TrustProblem",
    "TrustStore",
    "TrustedKey",
    "Validation",
    "VerificationRecord",
    "VerificationStatus",
    "VerifiedEnvelope",
    "countersign",
    "ensure_key",
    "file_certificate_facts",
    "fingerprint",
    "init_key",
    "is_drive",
    "key_info",
    "keyid",
    "load_private_key",
    "load_public_key",
    "load_trust",
    "new_certificate_id",
    "pae",
    "public_key_pem",
    "read_envelope",
    "read_signed_certificate",
    "render_text",
    "rfc3339",
    "sha256_hex",
    "sign_certificate",
    "sign_envelope",
    "verify_certificate",
    "verify_certificate_file",
    "verify_certificate_signature",
    "verify_envelope",
    "write_envelope",
    "write_public_key",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
