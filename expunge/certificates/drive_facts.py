"""Certificate records of drives and free space: a drive as a subject, with its health
and hidden areas; the sanitize command a drive ran itself; free space as a subject.

Every field added to an existing record is optional and left out of the JSON when it has
no value, so certificates issued before these fields existed read, verify and hash
exactly as they did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from expunge.certificates._strict import (
    check_timestamp,
    field_names,
    fields_dict,
    located,
    without_absent,
)
from expunge.certificates.subjects import DRIVE_KIND, FREE_SPACE_KIND
from expunge.core.strictjson import Fields


@dataclass(frozen=True)
class HealthRecord:
    """The drive's health when it was wiped (None where it did not report a value).

    ``source`` is where it came from: ``smartctl``, ``ata-smart``, ``nvme-health-log``.
    """

    source: str
    smart_passed: bool | None
    power_on_hours: int | None
    reallocated_sectors: int | None
    pending_sectors: int | None
    uncorrectable_sectors: int | None
    media_errors: int | None
    percentage_used: int | None
    temperature_c: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return fields_dict(self)

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> HealthRecord:
        """Strictly read the JSON form."""
        f = Fields(data, where, _HEALTH_FIELDS)
        counts = {name: f.opt_integer(name) for name in _HEALTH_COUNTS}
        return cls(source=f.text("source"), smart_passed=f.opt_flag("smart_passed"), **counts)


_HEALTH_FIELDS = field_names(HealthRecord)
_HEALTH_COUNTS = tuple(sorted(_HEALTH_FIELDS - {"source", "smart_passed"}))


@dataclass(frozen=True)
class HiddenAreasRecord:
    """Sectors beyond the host's reach on an ATA drive, in sectors.

    ``visible`` is what the host addressed, ``native`` what READ NATIVE MAX ADDRESS
    reported (a host protected area beyond ``visible``), ``factory`` what DEVICE
    CONFIGURATION IDENTIFY reported (a device configuration overlay beyond ``native``);
    None where the drive could not be asked. ``exposed``: the HPA was opened for the wipe
    (volatile SET MAX ADDRESS) and its sectors overwritten with the rest.
    """

    visible: int
    native: int | None
    factory: int | None
    exposed: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return fields_dict(self)

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> HiddenAreasRecord:
        """Strictly read the JSON form."""
        f = Fields(data, where, _HIDDEN_FIELDS)
        return cls(
            visible=f.integer("visible"),
            native=f.opt_integer("native"),
            factory=f.opt_integer("factory"),
            exposed=f.flag("exposed"),
        )

    def describe(self) -> str:
        """One line for people."""
        hpa = "unknown" if self.native is None else str(max(self.native - self.visible, 0))
        base = self.native if self.native is not None else self.visible
        dco = "unknown" if self.factory is None else str(max(self.factory - base, 0))
        opened = "; the HPA was opened and overwritten" if self.exposed else ""
        return f"hidden areas: HPA {hpa} sectors, DCO {dco} sectors{opened}"


_HIDDEN_FIELDS = field_names(HiddenAreasRecord)


@dataclass(frozen=True)
class DeviceCommandRecord:
    """A sanitize operation the drive ran itself (NVMe Sanitize or Format NVM, ATA
    SANITIZE or SECURITY ERASE UNIT, SCSI SANITIZE, a block-layer discard).

    ``completed`` is the drive's own report that the operation ended without error;
    ``report`` what it said (its sanitize status, the completion status).
    """

    protocol: str
    operation: str
    command: str
    started_at: str
    finished_at: str
    completed: bool
    report: str

    def __post_init__(self) -> None:
        check_timestamp(self.started_at, "started_at")
        check_timestamp(self.finished_at, "finished_at")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return fields_dict(self)

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> DeviceCommandRecord:
        """Strictly read the JSON form."""
        f = Fields(data, where, _COMMAND_FIELDS)
        return cls(
            protocol=f.text("protocol"),
            operation=f.text("operation"),
            command=f.text("command"),
            started_at=f.text("started_at"),
            finished_at=f.text("finished_at"),
            completed=f.flag("completed"),
            report=f.text("report"),
        )


_COMMAND_FIELDS = field_names(DeviceCommandRecord)


@dataclass(frozen=True)
class FreeSpaceSubject:
    """The free space of a mounted filesystem, overwritten by files that filled it.

    ``size`` is the bytes the fill files held (what was overwritten); ``free_before``
    the free bytes the filesystem reported before (root-reserved blocks included when
    run as root; None where the driver reports none); ``directory_entries`` the free
    directory entries refilled so that deleted names were overwritten (FAT), None where
    the filesystem was not asked.
    """

    mountpoint: str
    filesystem: str
    device: int
    source: str
    size: int
    free_before: int | None
    directory_entries: int | None

    KIND = FREE_SPACE_KIND

    @property
    def name(self) -> str:
        """How the subject is shown to people."""
        return f"free space of {self.mountpoint}"

    def describe(self) -> str:
        """One line for people."""
        names = (
            f", {self.directory_entries} free directory entries refilled"
            if self.directory_entries is not None
            else ""
        )
        return (
            f"free space of {self.mountpoint} ({self.filesystem} on {self.source}): "
            f"{self.size} bytes overwritten{names}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form, tagged ``"kind": "free-space"``."""
        return {"kind": self.KIND, **fields_dict(self)}

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> FreeSpaceSubject:
        """Strictly read the JSON form."""
        f = Fields(data, where, field_names(cls, "kind"))
        return cls(
            mountpoint=f.text("mountpoint"),
            filesystem=f.text("filesystem"),
            device=f.integer("device"),
            source=f.text("source"),
            size=f.integer("size"),
            free_before=f.opt_integer("free_before"),
            directory_entries=f.opt_integer("directory_entries"),
        )


@dataclass(frozen=True)
class DriveSubject:
    """A whole block device (or a partition, for a LUKS crypto-erase).

    ``identity_token`` is what the operator typed to confirm the wipe: the serial, or
    ``diskseq:N`` for a device without one. ``firmware``, ``health`` and
    ``hidden_areas`` are what the drive reported of itself (optional: absent from
    certificates issued before they were recorded, and where the drive did not say).
    """

    node: str
    vendor: str
    model: str
    serial: str | None
    wwn: str | None
    size: int
    logical_block_size: int
    bus: str
    removable: bool
    rotational: bool | None
    identity_token: str
    firmware: str | None = None
    health: HealthRecord | None = None
    hidden_areas: HiddenAreasRecord | None = None

    KIND = DRIVE_KIND

    @property
    def name(self) -> str:
        """How the subject is shown to people."""
        return f"{self.node} (serial {self.serial or 'none'})"

    def to_dict(self) -> dict[str, Any]:
        """JSON form, tagged ``"kind": "drive"``; optional facts only when known."""
        return without_absent({"kind": self.KIND, **fields_dict(self)}, _DRIVE_OPTIONAL)

    @classmethod
    @located
    def from_dict(cls, data: object, where: str) -> DriveSubject:
        """Strictly read the JSON form."""
        f = Fields(data, where, _DRIVE_FIELDS, _DRIVE_OPTIONAL)
        health, hidden = f.raw("health"), f.raw("hidden_areas")
        return cls(
            node=f.text("node"),
            vendor=f.text("vendor"),
            model=f.text("model"),
            serial=f.opt_text("serial"),
            wwn=f.opt_text("wwn"),
            size=f.integer("size"),
            logical_block_size=f.integer("logical_block_size", minimum=1),
            bus=f.text("bus"),
            removable=f.flag("removable"),
            rotational=f.opt_flag("rotational"),
            identity_token=f.text("identity_token"),
            firmware=f.opt_text("firmware"),
            health=None if health is None else HealthRecord.from_dict(health, f"{where}.health"),
            hidden_areas=None
            if hidden is None
            else HiddenAreasRecord.from_dict(hidden, f"{where}.hidden_areas"),
        )


_DRIVE_OPTIONAL = frozenset({"firmware", "health", "hidden_areas"})
_DRIVE_FIELDS = field_names(DriveSubject, "kind") - _DRIVE_OPTIONAL
