"""What a certificate is about, and what was done to each thing: the per-subject records.

A certificate covers one top-level target: a file, a directory (one subject per file) or a
drive. Each subject carries its identity, every pass, every verification and, for
crypto-erase, the key that was destroyed. Whether a subject counts as destroyed is computed
here from those facts, never written in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

from expunge.certificates._strict import (
    Unlocated,
    check_hex,
    check_timestamp,
    field_names,
    fields_dict,
    located,
    without_absent,
)
from expunge.core import paths
from expunge.core.errors import IntegrityError
from expunge.core.strictjson import Fields

if TYPE_CHECKING:
    # Imported where a drive's or free space's record is read: a file's certificate never
    # loads them (each frozen dataclass costs about 0.5 ms to build).
    from expunge.certificates.drive_facts import DeviceCommandRecord, DriveSubject, FreeSpaceSubject
    from expunge.certificates.key_erasure import KeyErasure

_KEY_BYTES = 32
_DIGEST_BYTES = 32


@dataclass(frozen=True, slots=True)
class FileSubject:
    """A regular file, identified as it was checked through its open descriptor.

    ``content_blake3`` is the hex BLAKE3 digest of the content taken before wiping (only
    with ``--fingerprint``), so an auditor can match the certificate to a known document;
    ``document_id`` is the ledger's id for the document, when it is registered.

    A name that is not UTF-8 is recorded as ``path`` (readable, each raw byte ``\\xHH``)
    and ``path_bytes`` (the raw bytes, base64), which then is the name; ``path_bytes`` is
    absent otherwise (see ``expunge.core.paths``).
    """

    path: str
    size: int
    inode: int
    device: int
    filesystem: str
    content_blake3: str | None = None
    document_id: str | None = None
    path_bytes: str | None = None

    KIND = "file"

    def __post_init__(self) -> None:
        if self.content_blake3 is not None:
            check_hex(self.content_blake3, "content_blake3", _DIGEST_BYTES)
        if paths.is_raw(self.path):
            raise Unlocated("path must be readable text; raw bytes go in path_bytes")
        try:
            paths.from_fields(self.path, self.path_bytes)
        except ValueError as exc:
            raise Unlocated(f"path_bytes: {exc}") from None

    @classmethod
    def named(cls, name: str, **facts: Any) -> FileSubject:
        """The subject of the file named ``name`` (any bytes), recorded losslessly."""
        return cls(path=paths.readable(name), path_bytes=paths.raw_b64(name), **facts)

    @property
    def raw_path(self) -> str:
        """The file's name itself (undecodable bytes as ``os.fsdecode`` gives them)."""
        return paths.from_fields(self.path, self.path_bytes)

    @property
    def name(self) -> str:
        """How the subject is shown to people."""
        return self.path

    def to_dict(self) -> dict[str, Any]:
        """JSON form, tagged ``"kind": "file"`` (``path_bytes`` only when there is one)."""
        data = {"kind": self.KIND, **fields_dict(self)}
        if self.path_bytes is None:
            del data["path_bytes"]
        return data

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> FileSubject:
        """Strictly read the JSON form."""
        raw = isinstance(data, dict) and "path_bytes" in data
        f = Fields(data, where, _FILE_FIELDS if raw else _FILE_FIELDS - {"path_bytes"})
        return cls(
            path_bytes=f.opt_text("path_bytes") if raw else None,
            path=f.text("path"),
            size=f.integer("size"),
            inode=f.integer("inode"),
            device=f.integer("device"),
            filesystem=f.text("filesystem"),
            content_blake3=f.opt_text("content_blake3"),
            document_id=f.opt_text("document_id"),
        )


Subject: TypeAlias = "FileSubject | DriveSubject | FreeSpaceSubject"

_FILE_FIELDS = field_names(FileSubject, "kind")
DRIVE_KIND = "drive"
"""``DriveSubject.KIND``: defined here, so that a file's certificate is read and told
apart from a drive's without importing the drive facts."""
FREE_SPACE_KIND = "free-space"
"""``FreeSpaceSubject.KIND``, likewise."""


def is_drive(subject: Subject) -> TypeGuard[DriveSubject]:
    """Whether ``subject`` is a drive: told by its kind, so that asking about a file's
    certificate does not import the drive facts."""
    return subject.KIND == DRIVE_KIND


def subject_from_dict(data: object, where: str) -> Subject:
    """Read a subject, choosing its type by its ``kind`` tag."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == FileSubject.KIND:
        return FileSubject.from_dict(data, where)
    if kind not in (DRIVE_KIND, FREE_SPACE_KIND):
        allowed = ", ".join((FileSubject.KIND, DRIVE_KIND, FREE_SPACE_KIND))
        raise IntegrityError(f"{where}.kind must be one of {allowed}")
    from expunge.certificates.drive_facts import DriveSubject, FreeSpaceSubject

    return (DriveSubject if kind == DRIVE_KIND else FreeSpaceSubject).from_dict(data, where)


@dataclass(frozen=True)
class ByteRange:
    """A half-open range ``[start, end)`` that a pass could not write."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise Unlocated(f"range ends ({self.end}) before it starts ({self.start})")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return fields_dict(self)

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> ByteRange:
        """Strictly read the JSON form."""
        f = Fields(data, where, _RANGE_FIELDS)
        return cls(start=f.integer("start"), end=f.integer("end"))


_RANGE_FIELDS = field_names(ByteRange)


class PassKind(StrEnum):
    """A fixed byte pattern, or a random (AES-256-CTR keystream) pass."""

    FIXED = "fixed"
    RANDOM = "random"


@dataclass(frozen=True, slots=True)
class PassRecord:
    """One overwrite pass over one subject.

    ``pattern_hex`` is the repeated bytes of a fixed pass. ``key_hex`` is the AES-256 key
    of a random pass, kept only for the subject's final pass: it is the verification seed
    that lets anyone recompute the expected content (the data it overwrote is gone, so it
    protects nothing). ``throughput`` is in bytes per second.
    """

    index: int
    label: str
    kind: PassKind
    pattern_hex: str | None
    key_hex: str | None
    size: int
    bytes_written: int
    started_at: str
    finished_at: str
    seconds: float
    throughput: float
    synced: bool
    unwritten: tuple[ByteRange, ...] = ()

    def __post_init__(self) -> None:
        check_timestamp(self.started_at, "started_at")
        check_timestamp(self.finished_at, "finished_at")
        if self.kind is PassKind.FIXED:
            if self.pattern_hex is None or self.key_hex is not None:
                raise Unlocated("a fixed pass has a pattern_hex and no key_hex")
            check_hex(self.pattern_hex, "pattern_hex")
        else:
            if self.pattern_hex is not None:
                raise Unlocated("a random pass has no pattern_hex")
            if self.key_hex is not None:
                check_hex(self.key_hex, "key_hex", _KEY_BYTES)

    @property
    def complete(self) -> bool:
        """Every byte of the subject written and made durable."""
        return self.bytes_written == self.size and self.synced and not self.unwritten

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return fields_dict(self)

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> PassRecord:
        """Strictly read the JSON form."""
        f = Fields(data, where, _PASS_FIELDS)
        return cls(
            index=f.integer("index"),
            label=f.text("label"),
            kind=f.choice("kind", PassKind),
            pattern_hex=f.opt_text("pattern_hex"),
            key_hex=f.opt_text("key_hex"),
            size=f.integer("size"),
            bytes_written=f.integer("bytes_written"),
            started_at=f.text("started_at"),
            finished_at=f.text("finished_at"),
            seconds=f.number("seconds"),
            throughput=f.number("throughput"),
            synced=f.flag("synced"),
            unwritten=tuple(ByteRange.from_dict(v, w) for w, v in f.items("unwritten")),
        )


_PASS_FIELDS = field_names(PassRecord)


class VerificationStatus(StrEnum):
    """What a read-back showed."""

    PASSED = "passed"
    FAILED = "failed"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    """One read-back of a subject against the content a pass wrote (or a key-absence scan).

    ``mode`` is how blocks were chosen (``nist``, ``quick``, ``full``; ``key-scan`` for a
    crypto-erase, where a "mismatch" is a place the destroyed key was still found).
    ``seed`` is the sample plan's CSPRNG seed, so the plan can be replayed; ``pass_index``
    the pass whose content was expected; ``coverage`` the fraction (0..1) of the subject
    read; ``digest`` the hex hash over all ``(offset, hash)`` pairs; ``cache_bypass`` how
    the page cache was bypassed (``O_DIRECT``, ``fadvise``). ``mismatching_offsets`` may list
    fewer offsets than ``mismatches`` counts. The status is computed: any mismatch fails;
    a read error or an unfinished plan leaves it incomplete.
    """

    mode: str
    pass_index: int | None
    seed: str | None
    block_size: int
    blocks_planned: int
    blocks_checked: int
    bytes_checked: int
    coverage: float
    mismatches: int
    mismatching_offsets: tuple[int, ...]
    read_errors: int
    digest: str | None
    cache_bypass: str

    def __post_init__(self) -> None:
        if len(self.mismatching_offsets) > self.mismatches:
            raise Unlocated("more mismatching_offsets are listed than mismatches counted")
        if self.coverage > 1:
            raise Unlocated(f"coverage {self.coverage} is more than 1")
        if self.seed is not None:
            check_hex(self.seed, "seed")
        if self.digest is not None:
            check_hex(self.digest, "digest")

    @property
    def status(self) -> VerificationStatus:
        """``failed`` on any mismatch; ``passed`` only when the whole plan was read."""
        if self.mismatches:
            return VerificationStatus.FAILED
        if (
            self.read_errors
            or self.blocks_planned == 0
            or self.blocks_checked < self.blocks_planned
        ):
            return VerificationStatus.INCOMPLETE
        return VerificationStatus.PASSED

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the computed ``status``."""
        return {**fields_dict(self), "status": self.status.value}

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> VerificationRecord:
        """Strictly read the JSON form; the recorded status must be the computed one."""
        f = Fields(data, where, _VERIFICATION_FIELDS)
        record = cls(
            mode=f.text("mode"),
            pass_index=f.opt_integer("pass_index"),
            seed=f.opt_text("seed"),
            block_size=f.integer("block_size", minimum=1),
            blocks_planned=f.integer("blocks_planned"),
            blocks_checked=f.integer("blocks_checked"),
            bytes_checked=f.integer("bytes_checked"),
            coverage=f.number("coverage"),
            mismatches=f.integer("mismatches"),
            mismatching_offsets=f.integers("mismatching_offsets"),
            read_errors=f.integer("read_errors"),
            digest=f.opt_text("digest"),
            cache_bypass=f.text("cache_bypass"),
        )
        if f.choice("status", VerificationStatus) is not record.status:
            raise IntegrityError(
                f"{where}.status says {f.text('status')} but the counts say {record.status}"
            )
        return record


_VERIFICATION_FIELDS = field_names(VerificationRecord, "status")


@dataclass(frozen=True, slots=True)
class SubjectRecord:
    """One subject and everything done to it.

    ``removed`` is whether a file's name was removed afterwards: ``None`` where removal does
    not apply (drives, ``--keep``), ``False`` when it was attempted and failed.
    ``device_command`` is a sanitize operation the drive ran itself (optional: absent
    from certificates without one).
    """

    subject: Subject
    planned_passes: int
    passes: tuple[PassRecord, ...]
    verifications: tuple[VerificationRecord, ...]
    removed: bool | None
    key_erasure: KeyErasure | None = None
    device_command: DeviceCommandRecord | None = None

    def __post_init__(self) -> None:
        for position, record in enumerate(self.passes):
            if record.index != position:
                raise Unlocated(f"pass {record.index} is recorded at position {position}")
            if record.key_hex is not None and position != len(self.passes) - 1:
                raise Unlocated(
                    f"pass {position} keeps its key; only the final pass's key is recorded"
                )
        if len(self.passes) > self.planned_passes:
            raise Unlocated(f"{len(self.passes)} passes recorded but {self.planned_passes} planned")
        for check in self.verifications:
            if check.pass_index is not None and check.pass_index >= len(self.passes):
                raise Unlocated(f"a verification refers to pass {check.pass_index}, not recorded")

    @property
    def sanitized(self) -> bool:
        """Something was planned (passes, a key erasure, a drive's own sanitize) and all
        of it was carried out.

        Every planned pass ran over the whole subject and reached the media, the key of
        a crypto-erase is destroyed, and the drive reported its sanitize completed.
        """
        command = self.device_command
        planned = self.planned_passes > 0 or self.key_erasure is not None or command is not None
        passes_done = len(self.passes) == self.planned_passes and all(
            p.complete for p in self.passes
        )
        key_gone = self.key_erasure is None or self.key_erasure.destroyed
        command_done = command is None or command.completed
        return planned and passes_done and key_gone and command_done

    @property
    def verified(self) -> bool:
        """At least one read-back, and every read-back passed."""
        return bool(self.verifications) and all(
            v.status is VerificationStatus.PASSED for v in self.verifications
        )

    @property
    def verification_failed(self) -> bool:
        """Some read-back found content that should not be there."""
        return any(v.status is VerificationStatus.FAILED for v in self.verifications)

    @property
    def destroyed(self) -> bool:
        """Sanitized, verified, and (for a file being removed) its name gone."""
        return self.sanitized and self.verified and self.removed is not False

    @property
    def final_pass(self) -> PassRecord | None:
        """The last pass: what a later re-verification expects to find."""
        return self.passes[-1] if self.passes else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return without_absent(fields_dict(self), _RECORD_OPTIONAL)

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> SubjectRecord:
        """Strictly read the JSON form."""
        f = Fields(data, where, _RECORD_FIELDS, _RECORD_OPTIONAL)
        erasure, command = f.raw("key_erasure"), f.raw("device_command")
        return cls(
            subject=subject_from_dict(f.raw("subject"), f"{where}.subject"),
            planned_passes=f.integer("planned_passes"),
            passes=tuple(PassRecord.from_dict(v, w) for w, v in f.items("passes")),
            verifications=tuple(
                VerificationRecord.from_dict(v, w) for w, v in f.items("verifications")
            ),
            removed=f.opt_flag("removed"),
            key_erasure=None if erasure is None else _key_erasure(erasure, f"{where}.key_erasure"),
            device_command=None
            if command is None
            else _device_command(command, f"{where}.device_command"),
        )


def _key_erasure(data: object, where: str) -> KeyErasure:
    # Imported here: only a crypto-erase (a sealed document's key, a LUKS volume) has one.
    from expunge.certificates.key_erasure import KeyErasure

    return KeyErasure.from_dict(data, where)


def _device_command(data: object, where: str) -> DeviceCommandRecord:
    # Imported here: only a drive that ran its own sanitize command has one.
    from expunge.certificates.drive_facts import DeviceCommandRecord

    return DeviceCommandRecord.from_dict(data, where)


_RECORD_OPTIONAL = frozenset({"device_command"})
_RECORD_FIELDS = field_names(SubjectRecord) - _RECORD_OPTIONAL
