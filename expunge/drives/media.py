"""Media facts: what kind of medium a drive is, and what overwriting every addressable block
of it cannot promise (flash remapping, layers under a virtual disk, hidden areas).

Limitations are returned as ``MediaLimitation``, this package's own small record: the
wiping workflow turns them into the report's and the certificate's limitations, so that
``drives`` needs nothing from the overwrite engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from expunge.drives.identify.health import HiddenAreas
from expunge.drives.identify.query import run_query
from expunge.drives.model import Drive

HDPARM_TIMEOUT_SECONDS = 10

_HDPARM_MAX = re.compile(r"max sectors\s*=\s*(\d+)\s*/\s*(\d+)")


@dataclass(frozen=True)
class MediaLimitation:
    """Something an overwrite cannot promise on this medium: a stable code, one line, and
    what to do instead."""

    code: str
    text: str
    remedy: str


def is_flash(drive: Drive) -> bool:
    """Flash memory behind a controller: SSDs, USB sticks, memory cards.

    USB bridges often report ``rotational == 1`` for sticks, so a removable USB disk counts
    as flash whatever it reports.
    """
    if drive.virtual:
        return False
    return not drive.rotational or drive.bus == "mmc" or (drive.bus == "usb" and drive.removable)


def media_type(drive: Drive) -> str:
    """How the certificate names the medium (NIST "media type")."""
    if drive.virtual:
        return "virtual disk"
    if is_flash(drive):
        kind = {"usb": "USB flash drive", "mmc": "memory card", "nvme": "NVMe SSD"}
        return kind.get(drive.bus, "solid-state drive")
    return "USB hard disk drive" if drive.bus == "usb" else "hard disk drive"


def media_limitations(drive: Drive) -> tuple[MediaLimitation, ...]:
    """What an overwrite of every addressable block cannot promise on this medium."""
    if drive.virtual:
        return (
            MediaLimitation(
                "virtual-disk",
                "a virtual disk (loop, device-mapper, md): the overwrite reached what the "
                "device exposes; copies kept by the layer beneath (the backing file's "
                "filesystem, snapshots, caches) were not addressed",
                "wipe or crypto-erase the backing store as well",
            ),
        )
    if is_flash(drive):
        return (
            MediaLimitation(
                "flash-media",
                "flash medium: remapped and over-provisioned blocks were not addressed "
                "(wear levelling may keep old copies the host cannot reach)",
                "for Purge use the drive's own sanitize or secure-erase command, or crypto-erase",
            ),
        )
    return ()


def parse_hdparm_max(text: str) -> tuple[int, int] | None:
    """``(visible, native)`` sectors from ``hdparm -N`` output, or ``None`` if absent."""
    match = _HDPARM_MAX.search(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def hidden_area_limitation(
    drive: Drive, hdparm_output: Callable[[str], str | None] | None = None
) -> MediaLimitation:
    """What is known of areas the host cannot address (HPA, DCO), as a limitation.

    Only an ATA drive can be asked, with ``hdparm -N`` (a read-only query) when hdparm is
    installed; otherwise hidden areas are recorded as unknown. ``hdparm_output`` runs the
    query for a node and returns its output (``None`` when it could not run); by default
    it runs hdparm.
    """
    hidden = drive.profile.hidden if drive.profile is not None else None
    if hidden is not None and hidden.native is not None:
        return _asked_hidden_area(drive.node, hidden)
    if drive.bus != "ata":
        return MediaLimitation(
            "hidden-areas-unknown",
            f"hidden areas (HPA/DCO) unknown: a {drive.bus} drive cannot be asked for them",
            "if the drive may hide an area, check it on an ATA port with hdparm -N",
        )
    output = (hdparm_output or _run_hdparm)(drive.node)
    return _hidden_area(drive.node, parse_hdparm_max(output) if output is not None else None)


def _hidden_area(node: str, sectors: tuple[int, int] | None) -> MediaLimitation:
    """The verdict on an ATA drive's ``(visible, native)`` sectors (None: no answer)."""
    if sectors is None:
        return MediaLimitation(
            "hidden-areas-unknown",
            "hidden areas (HPA/DCO) unknown: hdparm is not installed or gave no answer",
            "install hdparm so that expunge can check for a host protected area",
        )
    visible, native = sectors
    if native > visible:
        return MediaLimitation(
            "hidden-area",
            f"a host protected area hides {native - visible} sectors beyond sector "
            f"{visible}: they were not overwritten; a DCO was not checked",
            f"remove the HPA (hdparm -N p{native} {node}) and wipe again",
        )
    return MediaLimitation(
        "hidden-areas-dco-unknown",
        "no host protected area (hdparm -N); a device configuration overlay was not checked",
        f"check with hdparm --dco-identify {node}",
    )


def _asked_hidden_area(node: str, hidden: HiddenAreas) -> MediaLimitation:
    """The verdict from the drive's own answers (READ NATIVE MAX ADDRESS, DCO IDENTIFY)."""
    dco = hidden.dco_sectors
    dco_text = "a DCO was not checked" if dco is None else f"a DCO hides {dco} sectors"
    if hidden.hpa_sectors and not hidden.exposed:
        return MediaLimitation(
            "hidden-area",
            f"a host protected area hides {hidden.hpa_sectors} sectors beyond sector "
            f"{hidden.visible}: they were not overwritten; {dco_text}",
            "wipe again with --include-hidden-areas",
        )
    if dco:
        return MediaLimitation(
            "hidden-area-dco",
            f"a device configuration overlay hides {dco} sectors: they were not overwritten",
            f"restore the factory configuration (hdparm --dco-restore {node}), then wipe again",
        )
    hpa = (
        f"the host protected area of {hidden.hpa_sectors} sectors was opened for the wipe "
        "(volatile SET MAX ADDRESS) and overwritten"
        if hidden.hpa_sectors
        else "no host protected area"
    )
    return MediaLimitation(
        "hidden-areas-checked",
        f"hidden areas checked with the drive: {hpa}; " + ("no DCO" if dco == 0 else dco_text),
        "none needed",
    )


def _run_hdparm(node: str) -> str | None:
    done = run_query("hdparm", ["-N", node], HDPARM_TIMEOUT_SECONDS)
    return done.stdout if done is not None and done.returncode == 0 else None
