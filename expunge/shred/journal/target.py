"""The journal's view of the target: enough to refuse resuming on another medium."""

from __future__ import annotations

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

    @classmethod
    def from_identity(
        cls,
        identity: TargetIdentity,
        *,
        diskseq: int | None = None,
        serial: str = "",
        boot_id: str = "",
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

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: object) -> JournalTarget:
        """Strict inverse of ``to_dict``."""
        raw = keys_of(data, "target", [f.name for f in fields(cls)])
        kind = raw["kind"]
        if kind not in ("file", "device"):
            raise InvalidField("target.kind must be 'file' or 'device'")
        diskseq = raw["diskseq"]
        return cls(
            str_field(raw["path"], "target.path"),
            kind,
            int_field(raw["size"], "target.size"),
            int_field(raw["device"], "target.device"),
            int_field(raw["inode"], "target.inode"),
            None if diskseq is None else int_field(diskseq, "target.diskseq"),
            str_field(raw["serial"], "target.serial"),
            str_field(raw["boot_id"], "target.boot_id"),
        )
