"""Before the wipe: drives as listed or named, each judged by the interlocks, for the
operator to confirm."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expunge.core.errors import UsageError
from expunge.drives import (
    Drive,
    Reason,
    SystemFacts,
    find_drive,
    interlock_reasons,
    list_drives,
    system_facts,
)


@dataclass(frozen=True)
class DriveCheck:
    """A drive as listed, with every reason it may not be wiped (none: it may)."""

    drive: Drive
    reasons: tuple[Reason, ...]

    @property
    def may_wipe(self) -> bool:
        """No interlock applies (they run again right before the first write)."""
        return not self.reasons

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the drive's facts, whether it may be wiped, and why not."""
        return {
            **self.drive.to_dict(),
            "may_wipe": self.may_wipe,
            "reasons": [r.to_dict() for r in self.reasons],
        }


def survey(
    home: Path,
    *,
    include_all: bool = False,
    allow_fixed: bool = False,
    include_virtual: bool = False,
) -> tuple[DriveCheck, ...]:
    """Removable and USB drives (every disk with ``include_all``), each with its interlocks.

    ``home`` is expunge's home folder: the disk holding it is never offered.
    """
    system = system_facts(home)
    return tuple(
        judge(d, system, allow_fixed=allow_fixed, include_virtual=include_virtual)
        for d in list_drives(include_all=include_all)
    )


def check_drives(
    nodes: Sequence[str], home: Path, *, allow_fixed: bool = False, include_virtual: bool = False
) -> tuple[DriveCheck, ...]:
    """The whole disks named by ``nodes``, each with its interlocks, for confirmation.

    Refuses a name that is not a whole disk, and the same disk named twice.
    """
    system = system_facts(home)
    checks: list[DriveCheck] = []
    seen: dict[str, str] = {}
    for node in nodes:
        drive = find_drive(node)
        if drive.devnum in seen:
            raise UsageError(
                f"names the same disk as {seen[drive.devnum]}",
                target=node,
                remedy="name each drive once",
            )
        seen[drive.devnum] = node
        checks.append(
            judge(drive, system, allow_fixed=allow_fixed, include_virtual=include_virtual)
        )
    return tuple(checks)


def judge(
    drive: Drive, system: SystemFacts, *, allow_fixed: bool, include_virtual: bool
) -> DriveCheck:
    """``drive`` judged by the interlocks against the running ``system``."""
    reasons = interlock_reasons(
        drive, system, allow_fixed=allow_fixed, include_virtual=include_virtual
    )
    return DriveCheck(drive, reasons)
