"""The safety interlocks: pure functions from drive facts and system facts to the reasons a
drive must not be wiped, and to how an opened device differs from the confirmed one.

Nothing here reads the system: ``drive list`` judges facts as listed, and
``open_for_wipe`` judges facts it re-read through the open descriptor, with the same rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

from expunge.core.errors import RefusedError
from expunge.drives.model import Drive, Identity, SystemFacts

_CHOOSE_ANOTHER = "choose another drive"
_ALLOW_FIXED = "pass --allow-fixed if you mean to wipe it"


@dataclass(frozen=True)
class Reason:
    """Why a drive must not be wiped: a stable code, one line, and what to do."""

    code: str
    text: str
    remedy: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready fields."""
        return asdict(self)


class DriveRefused(RefusedError):
    """An interlock refused a drive; ``reasons`` lists every rule that applied."""

    def __init__(self, node: str, reasons: tuple[Reason, ...]):
        text = "; ".join(r.text for r in reasons)
        super().__init__(f"refused: {text}", target=node, remedy=reasons[0].remedy)
        self.reasons = reasons


def interlock_reasons(
    drive: Drive, system: SystemFacts, *, allow_fixed: bool, include_virtual: bool = False
) -> tuple[Reason, ...]:
    """Every reason ``drive`` must not be wiped; empty when it may be.

    Pure: decides from the facts given. Fixed disks need ``allow_fixed``; virtual disks
    need ``allow_fixed`` or ``include_virtual``. The first reason's remedy is the one a
    refusal names, so the order (system, use, medium, kind) runs from gravest to mildest.
    """
    return (
        *_system_use(drive, system),
        *_in_use(drive, system),
        *_medium(drive),
        *_kind(drive, allow_fixed=allow_fixed, include_virtual=include_virtual),
    )


def identity_changes(
    confirmed: Identity,
    listed_devnum: str,
    fresh: Drive,
    *,
    devnum: str,
    size: int,
    diskseq: int | None,
) -> tuple[str, ...]:
    """How the opened device differs from what the operator confirmed; empty if it does not.

    ``devnum``, ``size`` and ``diskseq`` were read through the open descriptor, ``fresh``
    from the kernel's view of that same device. The token is compared last: it only
    differs on its own when the serial-less fallback (node and size) changed.
    """
    changes = []
    if devnum != listed_devnum:
        changes.append(f"device number {listed_devnum} -> {devnum}")
    if size != confirmed.size:
        changes.append(f"size {confirmed.size} -> {size} bytes")
    if diskseq != confirmed.diskseq:
        changes.append(f"diskseq {confirmed.diskseq} -> {diskseq}")
    if fresh.serial != confirmed.serial:
        changes.append(f"serial {confirmed.serial} -> {fresh.serial}")
    if not changes and fresh.identity_token != confirmed.token:
        changes.append(f"identity token {confirmed.token} -> {fresh.identity_token}")
    return tuple(changes)


def _system_use(drive: Drive, system: SystemFacts) -> Iterator[Reason]:
    """The disk holds what the running system, or expunge itself, needs."""
    if drive.name in system.root_disks:
        yield Reason("system-root", "holds / (the running system)", _CHOOSE_ANOTHER)
    if drive.name in system.boot_disks:
        yield Reason("system-boot", "holds /boot (the system's boot files)", _CHOOSE_ANOTHER)
    if drive.swap or any(p.swap for p in drive.partitions) or drive.name in system.swap_disks:
        yield Reason(
            "swap", "holds active swap", "run swapoff on it first, or choose another drive"
        )
    if drive.name in system.home_disks:
        yield Reason(
            "expunge-home",
            "holds expunge's home (station key, ledger, certificates)",
            "choose another drive, or move the home with --home",
        )


def _in_use(drive: Drive, system: SystemFacts) -> Iterator[Reason]:
    """A filesystem or a stacked device uses the disk or one of its partitions."""
    devnums = {drive.devnum, *(p.devnum for p in drive.partitions)}
    if drive.all_mountpoints or devnums & system.mounted:
        where = ", ".join(drive.all_mountpoints) or "a mounted filesystem"
        yield Reason("mounted", f"mounted at {where}", "unmount every filesystem on it first")
    if drive.all_holders:
        yield Reason(
            "holders",
            f"in use by {', '.join(drive.all_holders)} (stacked on it: a loop device, "
            "device-mapper, LVM, dm-crypt or md)",
            "close those devices first (losetup -d, vgchange -an, cryptsetup close, mdadm --stop)",
        )


def _medium(drive: Drive) -> Iterator[Reason]:
    """The medium cannot be written: locked, or absent."""
    if drive.read_only:
        yield Reason("read-only", "is read-only", "release the write-protect switch or lock")
    if drive.size == 0:
        yield Reason("no-medium", "has no medium (size 0)", "insert the medium")


def _kind(drive: Drive, *, allow_fixed: bool, include_virtual: bool) -> Iterator[Reason]:
    """A fixed or virtual disk, which the operator must have asked for."""
    if drive.virtual:
        if not (allow_fixed or include_virtual):
            yield Reason(
                "virtual", "is a virtual disk (loop, ram, device-mapper or md)", _ALLOW_FIXED
            )
    elif not drive.hotpluggable and not allow_fixed:
        yield Reason("fixed", "is a fixed (non-removable) disk", _ALLOW_FIXED)
