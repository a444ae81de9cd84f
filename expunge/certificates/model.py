"""The certificate of sanitization: NIST SP 800-88's sample certificate, and what proves it.

A ``Certificate`` is frozen and schema-versioned. It enters only through ``from_json`` (or
``from_dict``), which refuse unknown and missing fields, and leaves through ``canonical()``:
the RFC 8785 bytes that are signed and hashed. Its ``outcome`` is computed from the records
it holds; the serialized ``outcome`` is there for readers and must agree with them.

The certificate's digest, used for the station's chain and by countersignatures, is the
SHA-256 of the canonical bytes, i.e. of the DSSE payload exactly as signed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

from expunge.certificates._strict import (
    Unlocated,
    check_hex,
    check_timestamp,
    field_names,
    fields_dict,
    is_canonical,
    loads_canonical,
    loads_noting_numbers,
    located,
    without_absent,
)
from expunge.certificates.assembly import Assembled, assemble
from expunge.certificates.subjects import SubjectRecord
from expunge.core.errors import IntegrityError
from expunge.core.outcome import Outcome
from expunge.core.sha256 import sha256_hex
from expunge.core.strictjson import Fields

SCHEMA_ID = "https://expunge.dev/certificate/v1"
SCHEMA_VERSION = 1

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_SHA256_BYTES = 32


class UnsupportedSchema(IntegrityError):
    """The document names a schema or version this expunge does not know."""


def new_certificate_id(moment: datetime, randomness: bytes | None = None) -> str:
    """A ULID: 26 Crockford base32 characters, sortable by ``moment`` (ms), 80 random bits.

    ``randomness`` (10 bytes) is for reproducible tests; by default it comes from the OS.
    """
    entropy = os.urandom(10) if randomness is None else randomness
    if len(entropy) != 10:
        raise ValueError("a certificate id takes 10 bytes of randomness")
    millis = int(moment.astimezone(UTC).timestamp() * 1000)
    number = (millis << 80) | int.from_bytes(entropy, "big")
    chars = [_CROCKFORD[(number >> shift) & 31] for shift in range(125, -5, -5)]
    return "".join(chars)


def _check_certificate_id(value: str) -> None:
    if not _ULID.fullmatch(value):
        raise Unlocated(f"certificate_id {value!r} is not a ULID (26 Crockford base32 characters)")


class Category(StrEnum):
    """NIST SP 800-88 sanitization category claimed."""

    CLEAR = "Clear"
    PURGE = "Purge"
    DESTROY = "Destroy"


class MethodUsed(StrEnum):
    """NIST SP 800-88's "method used" for the sample certificate."""

    OVERWRITE = "Overwrite"
    BLOCK_ERASE = "Block Erase"
    CRYPTOGRAPHIC_ERASE = "Cryptographic Erase"
    DEGAUSS = "Degauss"
    OTHER = "Other"


@dataclass(frozen=True)
class Person:
    """Who performed (or, in a countersignature, validated) the sanitization.

    For the person performing it, ``name`` is the station's operator. ``phone`` is optional
    (absent from certificates issued before it was recorded, and when not configured).
    """

    name: str
    title: str
    organization: str
    location: str
    phone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``phone`` only when known)."""
        return without_absent(fields_dict(self), _PERSON_OPTIONAL)

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> Person:
        """Strictly read the JSON form."""
        f = Fields(data, where, _PERSON_FIELDS, _PERSON_OPTIONAL)
        return cls(
            f.text("name"),
            f.text("title"),
            f.text("organization"),
            f.text("location"),
            f.opt_text("phone"),
        )


_PERSON_OPTIONAL = frozenset({"phone"})
_PERSON_FIELDS = field_names(Person) - _PERSON_OPTIONAL


@dataclass(frozen=True)
class Media:
    """NIST "media information": the medium the data lived on.

    ``source`` is where the medium came from (a user, a department); ``classification``
    the confidentiality of the data before sanitization; ``asset_tag`` the organization's
    property number or ticket (optional: absent from older certificates and when not
    given).
    """

    manufacturer: str
    model: str
    serial: str
    media_type: str
    source: str
    classification: str
    asset_tag: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``asset_tag`` only when given)."""
        return without_absent(fields_dict(self), _MEDIA_OPTIONAL)

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> Media:
        """Strictly read the JSON form."""
        f = Fields(data, where, _MEDIA_FIELDS, _MEDIA_OPTIONAL)
        return cls(
            manufacturer=f.text("manufacturer"),
            model=f.text("model"),
            serial=f.text("serial"),
            media_type=f.text("media_type"),
            source=f.text("source"),
            classification=f.text("classification"),
            asset_tag=f.opt_text("asset_tag"),
        )


_MEDIA_OPTIONAL = frozenset({"asset_tag"})
_MEDIA_FIELDS = field_names(Media) - _MEDIA_OPTIONAL


@dataclass(frozen=True)
class Sanitization:
    """NIST "sanitization details": what was claimed, how it was done, with which tool.

    ``method_name`` is the registry's name (``clear``, ``dod-3``, ``crypto-erase``);
    ``method_details`` its passes and citation; ``verification_method`` how the result was
    checked (``nist sampled read-back``, ``full read-back``, ``none``).
    """

    category: Category
    category_reason: str
    method_used: MethodUsed
    method_name: str
    method_details: str
    tool_name: str
    tool_version: str
    verification_method: str
    post_classification: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return fields_dict(self)

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> Sanitization:
        """Strictly read the JSON form."""
        f = Fields(data, where, _SANITIZATION_FIELDS)
        return cls(
            category=f.choice("category", Category),
            category_reason=f.text("category_reason"),
            method_used=f.choice("method_used", MethodUsed),
            method_name=f.text("method_name"),
            method_details=f.text("method_details"),
            tool_name=f.text("tool_name"),
            tool_version=f.text("tool_version"),
            verification_method=f.text("verification_method"),
            post_classification=f.text("post_classification"),
        )


_SANITIZATION_FIELDS = field_names(Sanitization)


@dataclass(frozen=True, slots=True)
class Limitation:
    """Something the method cannot promise on this medium, and what to do instead."""

    code: str
    text: str
    remedy: str
    target: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return fields_dict(self)

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> Limitation:
        """Strictly read the JSON form."""
        f = Fields(data, where, _LIMITATION_FIELDS)
        return cls(f.text("code"), f.text("text"), f.text("remedy"), f.opt_text("target"))


_LIMITATION_FIELDS = field_names(Limitation)


@dataclass(frozen=True)
class ErrorRecord:
    """Something that went wrong, and on which target."""

    code: str
    text: str
    target: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return fields_dict(self)

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> ErrorRecord:
        """Strictly read the JSON form."""
        f = Fields(data, where, _ERROR_FIELDS)
        return cls(f.text("code"), f.text("text"), f.opt_text("target"))


_ERROR_FIELDS = field_names(ErrorRecord)


@dataclass(frozen=True)
class LedgerAnchor:
    """Where the ledger stood when the certificate was issued: its id, entry and head hash."""

    ledger_id: str
    seq: int
    head_hash: str

    def __post_init__(self) -> None:
        check_hex(self.head_hash, "head_hash")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return fields_dict(self)

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> LedgerAnchor:
        """Strictly read the JSON form."""
        f = Fields(data, where, _ANCHOR_FIELDS)
        return cls(f.text("ledger_id"), f.integer("seq"), f.text("head_hash"))


_ANCHOR_FIELDS = field_names(LedgerAnchor)


@dataclass(frozen=True)
class Certificate:
    """A signed record that one target (a file, a directory, a drive) was sanitized.

    ``target`` is the top-level argument as the operator gave it; ``subjects`` hold one
    record per file (a directory lists every file) or the drive. ``interrupted_by`` names
    the signal that stopped the work, if any. ``previous_certificate_sha256`` is the digest
    of this station's previous certificate (``None`` for its first), chaining them.
    """

    certificate_id: str
    target: str
    issued_at: str
    started_at: str
    finished_at: str
    host: str
    person: Person
    media: Media
    sanitization: Sanitization
    subjects: tuple[SubjectRecord, ...]
    limitations: tuple[Limitation, ...]
    errors: tuple[ErrorRecord, ...]
    interrupted_by: str | None
    destination: str
    notes: str
    previous_certificate_sha256: str | None
    ledger_anchor: LedgerAnchor | None = None

    def __post_init__(self) -> None:
        _check_certificate_id(self.certificate_id)
        for name in ("issued_at", "started_at", "finished_at"):
            check_timestamp(getattr(self, name), name)
        if self.previous_certificate_sha256 is not None:
            check_hex(
                self.previous_certificate_sha256, "previous_certificate_sha256", _SHA256_BYTES
            )

    @cached_property
    def outcome(self) -> Outcome:
        """``success`` only when every subject was destroyed and verified, with no error.

        An interruption wins over everything; a failed read-back (or no subject at all)
        fails the whole certificate; some subject sanitized but not everything destroyed and
        verified (or an error) is ``partial``; nothing sanitized is ``failed``. Unverified
        media are never ``success``. Computed once (a frozen record's outcome cannot
        change): a certificate of a 10,000-file tree is judged by several readers.
        """
        if self.interrupted_by is not None:
            return Outcome.INTERRUPTED
        if not self.subjects or any(s.verification_failed for s in self.subjects):
            return Outcome.FAILED
        if all(s.destroyed for s in self.subjects) and not self.errors:
            return Outcome.SUCCESS
        if any(s.sanitized for s in self.subjects):
            return Outcome.PARTIAL
        return Outcome.FAILED

    @property
    def digest(self) -> str:
        """Hex SHA-256 of the canonical bytes: the certificate's identity in chains."""
        return sha256_hex(self.canonical())

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the schema, version and computed outcome."""
        return {
            "schema": SCHEMA_ID,
            "version": SCHEMA_VERSION,
            **fields_dict(self),
            "outcome": self.outcome.value,
        }

    def canonical(self) -> bytes:
        """RFC 8785 bytes: what is signed and hashed."""
        return self.assembled().data

    def assembled(self) -> Assembled:
        """The canonical bytes, built one subject and one limitation at a time, with where
        each of them lies (``assembly``): the same bytes as ``to_dict``'s, without a
        dictionary of the whole certificate."""
        members = {
            "schema": SCHEMA_ID,
            "version": SCHEMA_VERSION,
            **fields_dict(self, without=_ASSEMBLED),
            "outcome": self.outcome.value,
        }
        return assemble(members, {"subjects": self.subjects, "limitations": self.limitations})

    @classmethod
    def from_json(cls, data: bytes) -> Certificate:
        """Parse the signed payload: strict JSON, strict schema, and canonical form.

        The bytes must be exactly the RFC 8785 form of the certificate they describe, so
        that the digest of the payload is the digest of the certificate.
        """
        parsed = loads_canonical(data)
        if parsed is not None:
            return cls.from_dict(parsed)
        # Not shown canonical by the fast path: the strict reading says what is wrong.
        return cls._from_json_strictly(data)

    @classmethod
    def _from_json_strictly(cls, data: bytes) -> Certificate:
        """``from_json`` without its fast path (the same verdict on any bytes)."""
        parsed, numbers_alike = loads_noting_numbers(data, "certificate")
        certificate = cls.from_dict(parsed)
        if not is_canonical(parsed, data, numbers_alike):
            raise IntegrityError("certificate is not in canonical (RFC 8785) form")
        return certificate

    @classmethod
    def from_dict(cls, data: object, where: str = "certificate") -> Certificate:
        """Strictly read the JSON form; the recorded outcome must be the computed one."""
        if (
            isinstance(data, dict)
            and {"schema", "version"} <= data.keys()
            and (data["schema"] != SCHEMA_ID or data["version"] != SCHEMA_VERSION)
        ):
            raise UnsupportedSchema(
                f"{where} has schema {data.get('schema')!r} version {data.get('version')!r};"
                f" this expunge reads {SCHEMA_ID} version {SCHEMA_VERSION}"
            )
        return cls._read(data, where)

    @classmethod
    @located
    def _read(cls, data: object, where: str) -> Certificate:
        f = Fields(data, where, _CERTIFICATE_FIELDS)
        anchor = f.raw("ledger_anchor")
        certificate = cls(
            certificate_id=f.text("certificate_id"),
            target=f.text("target"),
            issued_at=f.text("issued_at"),
            started_at=f.text("started_at"),
            finished_at=f.text("finished_at"),
            host=f.text("host"),
            person=Person.from_dict(f.raw("person"), f"{where}.person"),
            media=Media.from_dict(f.raw("media"), f"{where}.media"),
            sanitization=Sanitization.from_dict(f.raw("sanitization"), f"{where}.sanitization"),
            subjects=tuple(SubjectRecord.from_dict(v, w) for w, v in f.items("subjects")),
            limitations=tuple(Limitation.from_dict(v, w) for w, v in f.items("limitations")),
            errors=tuple(ErrorRecord.from_dict(v, w) for w, v in f.items("errors")),
            interrupted_by=f.opt_text("interrupted_by"),
            destination=f.text("destination"),
            notes=f.text("notes"),
            previous_certificate_sha256=f.opt_text("previous_certificate_sha256"),
            ledger_anchor=None
            if anchor is None
            else LedgerAnchor.from_dict(anchor, f"{where}.ledger_anchor"),
        )
        recorded = f.choice("outcome", Outcome)
        if recorded is not certificate.outcome:
            raise IntegrityError(
                f"{where}.outcome says {recorded} but its records say {certificate.outcome}"
            )
        return certificate


_CERTIFICATE_FIELDS = field_names(Certificate, "schema", "version", "outcome")
# The arrays of a certificate that ``Certificate.assembled`` writes record by record.
_ASSEMBLED = frozenset({"subjects", "limitations"})
