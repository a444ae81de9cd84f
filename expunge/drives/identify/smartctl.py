"""``smartctl -j -a`` (smartmontools 7+) read into inventory and health facts.

smartmontools knows every bridge and vendor quirk there is; where it is installed its
answer is preferred to expunge's own SMART reading. Its JSON is read defensively: any
field may be missing, and a value of the wrong type counts as not reported.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from expunge.drives.identify.health import DriveHealth
from expunge.drives.identify.query import run_query

SMARTCTL_TIMEOUT_SECONDS = 20
# Exit status bits 0 and 1: the command line did not parse, or the device did not open;
# the other bits report the drive's condition and come with a full answer.
_FATAL_BITS = 0x3


@dataclass(frozen=True)
class SmartctlReport:
    """What smartctl said of one drive: who it is and how it is."""

    model: str | None
    serial: str | None
    firmware: str | None
    protocol: str | None
    health: DriveHealth

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**asdict(self), "health": self.health.to_dict()}


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _attribute(data: Any, ident: int) -> int | None:
    table = _get(data, "ata_smart_attributes", "table")
    for entry in table if isinstance(table, list) else ():
        if isinstance(entry, dict) and entry.get("id") == ident:
            return _int(_get(entry, "raw", "value"))
    return None


def parse_smartctl_json(text: str) -> SmartctlReport | None:
    """Read ``smartctl -j`` output; None when it is not JSON from smartctl."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not any(
        k in data for k in ("smartctl", "device", "smart_status", "model_name")
    ):
        return None
    nvme = _get(data, "nvme_smart_health_information_log")
    passed = _get(data, "smart_status", "passed")
    reallocated = _attribute(data, 5)
    if reallocated is None:
        # SCSI drives count remapped blocks in the grown defect list.
        reallocated = _int(_get(data, "scsi_grown_defect_list"))
    health = DriveHealth(
        source="smartctl",
        smart_passed=passed if isinstance(passed, bool) else None,
        power_on_hours=_int(_get(data, "power_on_time", "hours")),
        reallocated_sectors=reallocated,
        pending_sectors=_attribute(data, 197),
        uncorrectable_sectors=_attribute(data, 198),
        media_errors=_int(_get(nvme, "media_errors")),
        percentage_used=_int(_get(nvme, "percentage_used")),
        temperature_c=_int(_get(data, "temperature", "current")),
    )
    return SmartctlReport(
        model=_str(data.get("model_name")),
        serial=_str(data.get("serial_number")),
        firmware=_str(data.get("firmware_version")),
        protocol=_str(_get(data, "device", "protocol")),
        health=health,
    )


def run_smartctl(node: str) -> SmartctlReport | None:
    """Ask smartctl about ``node`` (read-only queries); None when it is not installed,
    cannot open the device, times out, or does not answer in JSON."""
    done = run_query("smartctl", ["-j", "-a", node], SMARTCTL_TIMEOUT_SECONDS)
    if done is None or done.returncode & _FATAL_BITS:
        return None
    return parse_smartctl_json(done.stdout)
