"""What a drive is: the disk and its partitions as the kernel sees them, the identity an
operator confirms, and the facts of the running system the interlocks judge against."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from expunge.drives.identify.profile import DriveProfile


@dataclass(frozen=True)
class Partition:
    """One partition of a disk, with what uses it."""

    node: str
    name: str
    devnum: str
    size: int
    mountpoints: tuple[str, ...] = ()
    holders: tuple[str, ...] = ()
    swap: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready facts."""
        data = asdict(self)
        data["mountpoints"] = list(self.mountpoints)
        data["holders"] = list(self.holders)
        return data


@dataclass(frozen=True)
class Drive:
    """A whole disk as the kernel sees it, with everything that uses it.

    ``removable`` is the kernel's removable-media flag; ``bus`` is one of usb, ata, scsi,
    nvme, mmc, virtio, virtual or unknown. Sizes are in bytes.
    """

    node: str
    name: str
    devnum: str
    size: int
    bus: str
    removable: bool
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    wwn: str | None = None
    logical_block_size: int = 512
    physical_block_size: int = 512
    rotational: bool = False
    read_only: bool = False
    diskseq: int | None = None
    partitions: tuple[Partition, ...] = ()
    holders: tuple[str, ...] = ()
    mountpoints: tuple[str, ...] = ()
    swap: bool = False
    profile: DriveProfile | None = None
    """What the drive answered when asked (sanitize support, health, hidden areas);
    None until it is probed."""

    @property
    def identity_token(self) -> str:
        """What the operator types to confirm this drive: its serial, else ``diskseq:N``.

        A kernel without diskseq (before 5.15) leaves a serial-less disk only its node and
        size, which is weaker; ``open_for_wipe`` still re-checks the size.
        """
        if self.serial:
            return self.serial
        if self.diskseq is not None:
            return f"diskseq:{self.diskseq}"
        return f"{self.node}:{self.size}"

    @property
    def virtual(self) -> bool:
        """Backed by a file, memory or other block devices rather than by hardware."""
        return self.bus == "virtual"

    @property
    def hotpluggable(self) -> bool:
        """Removable media or a USB disk: what a wiping station is meant to take.

        USB hard disks report ``removable == 0`` yet are unplugged like sticks.
        """
        return self.removable or self.bus == "usb"

    @property
    def all_mountpoints(self) -> tuple[str, ...]:
        """Mount points of the disk itself and of every partition."""
        return (*self.mountpoints, *(m for p in self.partitions for m in p.mountpoints))

    @property
    def all_holders(self) -> tuple[str, ...]:
        """Devices stacked on the disk or any partition, recursively (loop, dm, LVM, md)."""
        return (*self.holders, *(h for p in self.partitions for h in p.holders))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready facts, with the identity token."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["profile"] = self.profile.to_dict() if self.profile else None
        data["partitions"] = [p.to_dict() for p in self.partitions]
        data["holders"] = list(self.holders)
        data["mountpoints"] = list(self.mountpoints)
        data["identity_token"] = self.identity_token
        return data


def confirm_token_matches(drive: Drive, typed: str) -> bool:
    """True when ``typed`` (an operator's entry or an ``--expect`` value) names ``drive``.

    Exact match after trimming surrounding whitespace: a serial is not case-folded, and
    an empty entry never matches.
    """
    entry = typed.strip()
    return bool(entry) and entry == drive.identity_token


@dataclass(frozen=True)
class Identity:
    """What the operator confirmed: compared with the device once it is open."""

    node: str
    token: str
    size: int
    diskseq: int | None
    serial: str | None

    @classmethod
    def from_drive(cls, drive: Drive) -> Identity:
        """The identity of ``drive`` as listed now."""
        return cls(
            node=drive.node,
            token=drive.identity_token,
            size=drive.size,
            diskseq=drive.diskseq,
            serial=drive.serial,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


@dataclass(frozen=True)
class SystemFacts:
    """What the running system uses, by kernel disk name (``sda``, ``vda``, ``loop3``).

    A path's disks include every layer under it: ``/`` on dm-crypt on LVM on ``sda2``
    gives ``{"dm-1", "dm-0", "sda"}``. ``mounted`` holds ``major:minor`` numbers of every
    mounted block device.
    """

    root_disks: frozenset[str] = frozenset()
    boot_disks: frozenset[str] = frozenset()
    swap_disks: frozenset[str] = frozenset()
    home_disks: frozenset[str] = frozenset()
    mounted: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready sets, sorted."""
        return {k: sorted(v) for k, v in asdict(self).items()}
