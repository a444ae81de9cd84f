"""The seven kinds of ledger event, as typed frozen values with strict JSON forms.

An event says what happened to a document; the entry around it (``entries.py``) says when,
by whom and where in the chain. Constructors validate and raise ``UsageError`` (the values
come from a person's command line); ``from_dict`` reads stored or exported JSON and raises
``IntegrityError`` instead, because there a bad value means the ledger was altered.

Times are UTC with whole seconds, written ``2026-11-24T19:40:17Z``: one fixed form, so that
the canonical bytes of an event are one function of its value.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from expunge.core.clock import rfc3339
from expunge.core.errors import ExpungeError, IntegrityError, UsageError
from expunge.core.strictjson import Fields
from expunge.ledger.event_paths import opt_path_in, path_in, path_out, paths_in, paths_out
from expunge.ledger.ids import validate_document_id

_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"(?:[0-9a-f]{2})+")
# JSON numbers beyond 2**53 are not exact in every reader (RFC 8785, I-JSON).
MAX_SAFE_INT = 2**53 - 1


def utc_second(moment: datetime, what: str = "time") -> datetime:
    """``moment`` in UTC, truncated to the second; naive times are refused."""
    if moment.tzinfo is UTC and not moment.microsecond:
        return moment  # already so (every time read from a ledger): an audit meets millions
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise UsageError(
            f"{what} has no time zone",
            target=what,
            remedy="pass an aware datetime, e.g. datetime.now(UTC)",
        )
    return moment.astimezone(UTC).replace(microsecond=0)


def format_time(moment: datetime) -> str:
    """``2026-11-24T19:40:17Z``: the only time form the ledger writes (whole seconds)."""
    return rfc3339(moment, "seconds")


@functools.lru_cache(maxsize=4096)
def _utc(text: str) -> datetime | None:
    # Entries appended in one transaction share their time: an audit parses each once.
    match = _TIME.fullmatch(text)
    if not match:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def parse_time(text: str, what: str) -> datetime:
    """Read the form ``format_time`` writes; anything else is an integrity error."""
    moment = _utc(text)
    if moment is not None:
        return moment
    if _TIME.fullmatch(text):
        raise IntegrityError(f"{what} is not a real date and time: {text!r}")
    raise IntegrityError(f"{what} must be a UTC time like 2026-01-31T12:00:00Z, not {text!r}")


def _shared(value: str) -> str:
    """One string object for a value that many events repeat (a classification, a
    custodian, a method, a medium): an audit keeps them for every document of a ledger,
    and the JSON parser makes a new one each time."""
    return sys.intern(value)


def _nonempty(value: str, what: str) -> None:
    if not value:
        raise UsageError(f"{what} must not be empty", target=what)
    _text(value, what)


def _text(value: str, what: str) -> None:
    if "\x00" in value:
        raise UsageError(f"{what} must not contain NUL characters", target=what)


def _absolute(value: str, what: str) -> None:
    _nonempty(value, what)
    if not value.startswith("/"):
        raise UsageError(
            f"{value!r} is not an absolute path", target=what, remedy="record absolute paths"
        )


def _unique(values: tuple[str, ...], what: str) -> None:
    if len(set(values)) != len(values):
        raise UsageError(f"{what} lists the same value twice", target=what)


class DocumentFields(Protocol):
    """What a registration says of a document (the event, and the state derived from it)."""

    @property
    def doc_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def classification(self) -> str: ...
    @property
    def custodian(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def digest(self) -> str: ...
    @property
    def retain_until(self) -> datetime | None: ...


def document_fields(document: DocumentFields) -> dict[str, Any]:
    """The JSON form of a document's registered facts, shared by events and states."""
    return {
        "doc_id": document.doc_id,
        "title": document.title,
        "classification": document.classification,
        "custodian": document.custodian,
        **path_out("path", document.path),
        "size": document.size,
        "digest": document.digest,
        "retain_until": format_time(document.retain_until) if document.retain_until else None,
    }


@dataclass(frozen=True, slots=True)
class Register:
    """A confidential document enters the register.

    ``digest`` is the BLAKE3 hex digest of the content; ``sealed`` says the file at ``path``
    is already a sealed (encrypted) file, so no plaintext was ever recorded.
    """

    kind: ClassVar[str] = "register"
    optional: ClassVar[frozenset[str]] = frozenset({"path_bytes"})

    doc_id: str
    title: str
    classification: str
    custodian: str
    path: str
    size: int
    digest: str
    retain_until: datetime | None = None
    sealed: bool = False

    def __post_init__(self) -> None:
        validate_document_id(self.doc_id)
        _text(self.title, "title")
        _nonempty(self.classification, "classification")
        _nonempty(self.custodian, "custodian")
        _absolute(self.path, "path")
        if not 0 <= self.size <= MAX_SAFE_INT:
            raise UsageError(f"size {self.size} is out of range", target="size")
        if not _DIGEST.fullmatch(self.digest):
            raise UsageError(
                "digest must be a BLAKE3 digest as 64 lowercase hex digits", target="digest"
            )
        if self.retain_until is not None:
            object.__setattr__(self, "retain_until", utc_second(self.retain_until, "retain_until"))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "type": self.kind,
            **document_fields(self),
            "sealed": self.sealed,
        }

    @classmethod
    def _read(cls, f: Fields) -> Register:
        retain = f.opt_text("retain_until")
        return cls(
            doc_id=f.text("doc_id"),
            title=f.text("title"),
            classification=_shared(f.text("classification")),
            custodian=_shared(f.text("custodian")),
            path=path_in(f, "path"),
            size=f.integer("size"),
            digest=f.text("digest"),
            retain_until=parse_time(retain, f"{f.where}.retain_until") if retain else None,
            sealed=f.flag("sealed"),
        )


@dataclass(frozen=True, slots=True)
class Copy:
    """A copy of the document was made: to a path, or onto a medium named by its token.

    ``plaintext`` marks a copy of a sealed document that is not ciphertext (the output of
    ``unseal``); its JSON form has ``"plaintext": true`` only then, so every copy event
    written before the field existed reads, and hashes, exactly as before.
    """

    kind: ClassVar[str] = "copy"
    optional: ClassVar[frozenset[str]] = frozenset({"plaintext", "to_path_bytes"})

    doc_id: str
    to_path: str | None = None
    to_medium: str | None = None
    plaintext: bool = False

    def __post_init__(self) -> None:
        validate_document_id(self.doc_id)
        if (self.to_path is None) == (self.to_medium is None):
            raise UsageError(
                "a copy goes either to a path or to a medium",
                target="copy",
                remedy="give exactly one of --to PATH or --medium TOKEN",
            )
        if self.to_path is not None:
            _absolute(self.to_path, "to_path")
        if self.to_medium is not None:
            _nonempty(self.to_medium, "to_medium")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        data: dict[str, Any] = {
            "type": self.kind,
            "doc_id": self.doc_id,
            **path_out("to_path", self.to_path),
            "to_medium": self.to_medium,
        }
        if self.plaintext:
            data["plaintext"] = True
        return data

    @classmethod
    def _read(cls, f: Fields) -> Copy:
        plaintext = f.flag("plaintext") if f.has("plaintext") else False
        if f.has("plaintext") and not plaintext:
            raise IntegrityError(f"{f.where}.plaintext is written only when true")
        medium = f.opt_text("to_medium")
        return cls(
            f.text("doc_id"),
            opt_path_in(f, "to_path"),
            None if medium is None else _shared(medium),
            plaintext,
        )


@dataclass(frozen=True, slots=True)
class Transfer:
    """Custody of the document passes to someone else."""

    kind: ClassVar[str] = "transfer"

    doc_id: str
    custodian: str

    def __post_init__(self) -> None:
        validate_document_id(self.doc_id)
        _nonempty(self.custodian, "custodian")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"type": self.kind, "doc_id": self.doc_id, "custodian": self.custodian}

    @classmethod
    def _read(cls, f: Fields) -> Transfer:
        return cls(f.text("doc_id"), _shared(f.text("custodian")))


@dataclass(frozen=True, slots=True)
class Seal:
    """The document now lives encrypted at ``sealed_path`` under key ``key_id`` of the key
    store; copies recorded from now on are copies of ciphertext."""

    kind: ClassVar[str] = "seal"
    optional: ClassVar[frozenset[str]] = frozenset({"sealed_path_bytes"})

    doc_id: str
    sealed_path: str
    key_id: str

    def __post_init__(self) -> None:
        validate_document_id(self.doc_id)
        _absolute(self.sealed_path, "sealed_path")
        _nonempty(self.key_id, "key_id")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "type": self.kind,
            "doc_id": self.doc_id,
            **path_out("sealed_path", self.sealed_path),
            "key_id": self.key_id,
        }

    @classmethod
    def _read(cls, f: Fields) -> Seal:
        return cls(f.text("doc_id"), path_in(f, "sealed_path"), f.text("key_id"))


@dataclass(frozen=True, slots=True)
class Destroy:
    """Locations of the document were destroyed, as the cited certificate attests.

    ``paths`` and ``media`` name the locations covered (the original or sealed file, copies
    at paths, copies on media); ``key_erased`` says the document key was crypto-erased, which
    destroys every ciphertext location at once. The certificate is opaque here: its id, its
    digest and the signed envelope itself, which layer 2 checks. ``recorded_later`` marks
    an event delivered from the station's outbox (its certificate was issued while the
    shared ledger was unreachable); its JSON form has ``"recorded_later": true`` only then,
    so every other destroy event reads, and hashes, exactly as before.
    """

    kind: ClassVar[str] = "destroy"
    optional: ClassVar[frozenset[str]] = frozenset({"paths_bytes", "recorded_later"})

    doc_id: str
    method: str
    certificate_id: str
    certificate_digest: str
    envelope: Mapping[str, Any]
    paths: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    key_erased: bool = False
    recorded_later: bool = False

    def __post_init__(self) -> None:
        validate_document_id(self.doc_id)
        _nonempty(self.method, "method")
        _nonempty(self.certificate_id, "certificate_id")
        _nonempty(self.certificate_digest, "certificate_digest")
        if not isinstance(self.envelope, Mapping):
            raise UsageError("the certificate envelope must be a JSON object", target="envelope")
        object.__setattr__(self, "envelope", dict(self.envelope))
        object.__setattr__(self, "paths", tuple(self.paths))
        object.__setattr__(self, "media", tuple(self.media))
        for path in self.paths:
            _absolute(path, "paths")
        for medium in self.media:
            _nonempty(medium, "media")
        _unique(self.paths, "paths")
        _unique(self.media, "media")
        if not (self.paths or self.media or self.key_erased):
            raise UsageError(
                "a destroy event must cover a path, a medium or the document key",
                target="destroy",
            )

    def without_envelope(self) -> Destroy:
        """This event with an empty envelope, for a reader that keeps the event but needs
        only the verdict on its certificate (the envelope is most of its weight). Copied
        field by field: the event was validated when it was made."""
        clone = object.__new__(Destroy)
        for name in self.__slots__:
            object.__setattr__(clone, name, getattr(self, name))
        object.__setattr__(clone, "envelope", {})
        return clone

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "type": self.kind,
            "doc_id": self.doc_id,
            **paths_out("paths", self.paths),
            "media": list(self.media),
            "key_erased": self.key_erased,
            "method": self.method,
            "certificate_id": self.certificate_id,
            "certificate_digest": self.certificate_digest,
            "envelope": dict(self.envelope),
            **({"recorded_later": True} if self.recorded_later else {}),
        }

    @classmethod
    def _read(cls, f: Fields) -> Destroy:
        later = f.flag("recorded_later") if f.has("recorded_later") else False
        if f.has("recorded_later") and not later:
            raise IntegrityError(f"{f.where}.recorded_later is written only when true")
        return cls(
            doc_id=f.text("doc_id"),
            method=_shared(f.text("method")),
            certificate_id=f.text("certificate_id"),
            certificate_digest=f.text("certificate_digest"),
            envelope=f.obj("envelope"),
            paths=paths_in(f, "paths"),
            media=f.texts("media"),
            key_erased=f.flag("key_erased"),
            recorded_later=later,
        )


WRITE_OFF_REASONS: tuple[str, ...] = ("lost", "destroyed-physically")


@dataclass(frozen=True, slots=True)
class WriteOff:
    """A recorded copy that nobody can bring back is closed without a certificate.

    ``copy_seq`` is the seq of the ``copy`` event that recorded it; ``reason`` is one of
    ``WRITE_OFF_REASONS``; ``witness`` names who attests it. The entry's station signature
    is what makes the claim accountable.
    """

    kind: ClassVar[str] = "write-off"

    doc_id: str
    copy_seq: int
    reason: str
    witness: str

    def __post_init__(self) -> None:
        validate_document_id(self.doc_id)
        if not 1 <= self.copy_seq <= MAX_SAFE_INT:
            raise UsageError(f"copy seq {self.copy_seq} is out of range", target="--copy")
        if self.reason not in WRITE_OFF_REASONS:
            raise UsageError(
                f"unknown write-off reason {self.reason!r}",
                target="--reason",
                remedy=f"choose one of {', '.join(WRITE_OFF_REASONS)}",
            )
        _nonempty(self.witness, "witness")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "type": self.kind,
            "doc_id": self.doc_id,
            "copy_seq": self.copy_seq,
            "reason": self.reason,
            "witness": self.witness,
        }

    @classmethod
    def _read(cls, f: Fields) -> WriteOff:
        return cls(f.text("doc_id"), f.integer("copy_seq"), f.text("reason"), f.text("witness"))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signature over ``(ledger id, seq, head hash)`` of an earlier entry (see
    ``chain.checkpoint_message``), made by the signer layer 2 passes in."""

    kind: ClassVar[str] = "checkpoint"

    seq: int
    head_hash: str
    keyid: str
    signature: str
    doc_id: None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= self.seq <= MAX_SAFE_INT:
            raise UsageError(f"checkpoint seq {self.seq} is out of range", target="seq")
        if not _DIGEST.fullmatch(self.head_hash):
            raise UsageError("head_hash must be 64 lowercase hex digits", target="head_hash")
        _nonempty(self.keyid, "keyid")
        if not _HEX.fullmatch(self.signature):
            raise UsageError("signature must be lowercase hex bytes", target="signature")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "type": self.kind,
            "seq": self.seq,
            "head_hash": self.head_hash,
            "keyid": self.keyid,
            "signature": self.signature,
        }

    @classmethod
    def _read(cls, f: Fields) -> Checkpoint:
        return cls(f.integer("seq"), f.text("head_hash"), f.text("keyid"), f.text("signature"))


Event = Register | Copy | Transfer | Seal | Destroy | WriteOff | Checkpoint
DocumentEvent = Register | Copy | Transfer | Seal | Destroy | WriteOff


def _names(cls: type[Event]) -> frozenset[str]:
    optional: frozenset[str] = getattr(cls, "optional", frozenset())
    return frozenset(f.name for f in fields(cls) if f.init) | {"type"} | optional


_CLASSES: dict[str, type[Event]] = {
    cls.kind: cls for cls in (Register, Copy, Transfer, Seal, Destroy, WriteOff, Checkpoint)
}
_KINDS: dict[str, tuple[frozenset[str], Callable[[Fields], Event]]] = {
    kind: (_names(cls), cls._read) for kind, cls in _CLASSES.items()
}
EVENT_TYPES: tuple[str, ...] = tuple(_KINDS)


def event_from_dict(data: object, where: str = "event") -> Event:
    """Strictly read an event's JSON form; any deviation is an ``IntegrityError``."""
    kind = data.get("type") if isinstance(data, dict) else None
    if kind not in _KINDS:
        raise IntegrityError(f"{where}.type must be one of {', '.join(EVENT_TYPES)}")
    names, read = _KINDS[kind]
    assert isinstance(data, dict)  # only an object has a known type
    optional: frozenset[str] = getattr(_CLASSES[kind], "optional", frozenset())
    absent = optional - data.keys()
    reader = Fields(data, where, names - absent)
    try:
        return read(reader)
    except IntegrityError:
        raise
    except ExpungeError as exc:
        raise IntegrityError(f"{where}: {exc.message}") from exc
