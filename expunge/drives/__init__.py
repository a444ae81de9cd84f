"""Whole drives: discovery, identity, the safety interlocks, opening for a wipe, hot-plug,
and what the medium allows.

The only package that imports pyudev. Discovery reads the kernel's view (sysfs) through
pyudev and works without a udev daemon: udev properties are used when a udev database
exists, sysfs attributes otherwise.

Safety model, in order of strength:

1. ``interlock_reasons`` is one pure function from drive facts and system facts to the
   reasons a drive must not be wiped. ``drive list`` shows them; ``open_for_wipe`` re-runs
   them on facts re-read after the device is open.
2. ``open_for_wipe`` opens the node with ``O_EXCL``: the kernel itself refuses while the
   disk or any partition is mounted, used as swap or held by device-mapper/md, and nobody
   can mount it while expunge holds it.
3. Through the open descriptor it re-reads size and diskseq and compares them, with the
   serial, to the identity the operator confirmed. A different medium behind the same node
   (a re-plugged stick, a re-attached loop image) is refused before a byte is written.

Virtual disks (loop, ram, zram, device-mapper, md) are treated like fixed disks: wiping
one needs ``allow_fixed``. ``include_virtual`` admits them without admitting physical
fixed disks; a station takes virtual disks only when an allow-list names them.

Modules: ``model`` (the facts), ``interlocks`` (pure rules), ``system`` (mounts, swap,
system disks), ``discovery`` (pyudev enumeration), ``device`` (the guarded open),
``watch`` (hot-plug and the station's filter), ``place`` (slot and backing file), ``media``
(media type and limitations).
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.drives.device import OpenDevice, open_for_wipe
    from expunge.drives.discovery import find_drive, list_drives
    from expunge.drives.interlocks import DriveRefused, Reason, identity_changes, interlock_reasons
    from expunge.drives.media import (
        HDPARM_TIMEOUT_SECONDS,
        MediaLimitation,
        hidden_area_limitation,
        is_flash,
        media_limitations,
        media_type,
        parse_hdparm_max,
    )
    from expunge.drives.model import Drive, Identity, Partition, SystemFacts, confirm_token_matches
    from expunge.drives.place import Place, place_of, slot_from_sys_path
    from expunge.drives.system import (
        BOOT_PATHS,
        MOUNTINFO,
        SWAPS,
        SYS,
        Mount,
        parse_mountinfo,
        parse_swaps,
        system_facts,
    )
    from expunge.drives.watch import (
        POLL_SECONDS,
        Appeared,
        DriveWatch,
        MediaEvent,
        Removed,
        WatchFilter,
    )

__all__ = [
    "BOOT_PATHS",
    "HDPARM_TIMEOUT_SECONDS",
    "MOUNTINFO",
    "POLL_SECONDS",
    "SWAPS",
    "SYS",
    "Appeared",
    "Drive",
    "DriveRefused",
    "DriveWatch",
    "Identity",
    "MediaEvent",
    "MediaLimitation",
    "Mount",
    "OpenDevice",
    "Partition",
    "Place",
    "Reason",
    "Removed",
    "SystemFacts",
    "WatchFilter",
    "confirm_token_matches",
    "find_drive",
    "hidden_area_limitation",
    "identity_changes",
    "interlock_reasons",
    "is_flash",
    "list_drives",
    "media_limitations",
    "media_type",
    "open_for_wipe",
    "parse_hdparm_max",
    "parse_mountinfo",
    "parse_swaps",
    "place_of",
    "slot_from_sys_path",
    "system_facts",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
