"""The journal's view of the target: enough to refuse resuming on another medium."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from expunge.shred.journal.fields import InvalidField, int_field, keys_of, str_field
from expunge.shred.report import TargetIdentity


@dataclass(frozen=True)
class JournalTarget:
    """What is being wiped, as identified through the open descriptor.

    ``device`` and ``inode`` are ``st_dev``/``st_ino`` for a file, ``st_rdev`` and the
    node's inode for a block device. ``diskseq`` (a block device's attach sequence number,
    new each time a medium appears), ``serial`` and ``boot_id`` (the kernel's
    ``/proc/sys/kernel/random/boot_id``) are for devices; the caller reads them.

    A file is pinned to the object, not only to its inode number, which the filesystem
    hands to the next file created once the old one is removed: ``generation`` is the
    inode's generation (``FS_IOC_GETVERSION``) and ``birth_ns`` its creation time
    (``statx``), each None where the filesystem keeps none. ctime is no pin: every write
    of the wipe itself changes it. The content of the durably written region is checked
    too, when resuming (``journal.pin``).

    Within one boot every field must match to resume: a re-plugged drive has a new
    ``diskseq`` and is wiped again from the start, which costs time but never certifies
    bytes of one medium as written on another. Across a reboot (a power cut) diskseq and
    device numbers are counted afresh and mean nothing, and the node name may change; the
    drive is then recognised by its serial and size only, and a drive without a serial
    cannot be recognised at all.
    """

    path: str
    kind: Literal["file", "device"]
    size: int
    device: int
    inode: int
    diskseq: int | None = None
    serial: str = ""
    boot_id: str = ""
    generation: int | None = None
    birth_ns: int | None = None

    @classmethod
    def from_identity(
        cls,
        identity: TargetIdentity,
        *,
        diskseq: int | None = None,
        serial: str = "",
        boot_id: str = "",
        generation: int | None = None,
        birth_ns: int | None = None,
    ) -> JournalTarget:
        """The journal's view of a wipe report's ``TargetIdentity`` (allocation and link
        count change as the wipe goes, so they are not part of it)."""
        return cls(
            identity.path,
            identity.kind,
            identity.size,
            identity.device,
            identity.inode,
            diskseq,
            serial,
            boot_id,
            generation,
            birth_ns,
        )

    def same_place(self, other: JournalTarget) -> bool:
        """Whether ``other`` names the same target: same kind and path, or the same serial."""
        if self.kind != other.kind:
            return False
        return self.path == other.path or bool(self.serial and self.serial == other.serial)

    def differences(self, current: JournalTarget) -> tuple[str, ...]:
        """What differs between this (journaled) target and ``current``, as
        ``"size 1000 (journal) != 2000 (now)"``; empty when it is the same medium."""
        names = [f.name for f in fields(self)]
        if self.kind == "device" and current.kind == "device" and self.boot_id != current.boot_id:
            if not self.serial:
                return (
                    "the drive has no serial and the system restarted: it cannot be recognised",
                )
            names = ["kind", "size", "serial"]
        return tuple(
            f"{name} {getattr(self, name)!r} (journal) != {getattr(current, name)!r} (now)"
            for name in names
            if getattr(self, name) != getattr(current, name)
        )

    def to_dict(self, *, pinned: bool = True) -> dict[str, Any]:
        """JSON form (without the pins for a journal of schema 1)."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if pinned or f.name not in _PINS
        }

    @classmethod
    def from_dict(cls, data: object, *, pinned: bool = True) -> JournalTarget:
        """Strict inverse of ``to_dict``; ``pinned=False`` reads a journal of schema 1,
        written before files were pinned (no ``generation`` and ``birth_ns``)."""
        names = [f.name for f in fields(cls)]
        raw = keys_of(data, "target", names if pinned else names[: -len(_PINS)])
        kind = raw["kind"]
        if kind not in ("file", "device"):
            raise InvalidField("target.kind must be 'file' or 'device'")
        return cls(
            str_field(raw["path"], "target.path"),
            kind,
            int_field(raw["size"], "target.size"),
            int_field(raw["device"], "target.device"),
            int_field(raw["inode"], "target.inode"),
            _optional_int(raw, "diskseq"),
            str_field(raw["serial"], "target.serial"),
            str_field(raw["boot_id"], "target.boot_id"),
            *(_optional_int(raw, name) for name in _PINS),
        )


_PINS = ("generation", "birth_ns")


def _optional_int(raw: Mapping[str, Any], name: str) -> int | None:
    value = raw.get(name)
    return None if value is None else int_field(value, f"target.{name}", low=-(2**63))
