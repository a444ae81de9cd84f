"""Asking a drive what it is: identify data, sanitize support, health, hidden areas.

Only read-only queries are sent (IDENTIFY, INQUIRY, log pages, SMART READ DATA, READ
NATIVE MAX ADDRESS, DEVICE CONFIGURATION IDENTIFY, SANITIZE STATUS): probing never
changes a drive. A query the drive or its bridge refuses is recorded in the profile's
``problems`` and the probe goes on with what it has.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from expunge.core.errors import ExpungeError
from expunge.drives.discovery import read_attr
from expunge.drives.identify import profile as ops
from expunge.drives.identify.ata import AtaIdentify, parse_dco_identify, parse_identify
from expunge.drives.identify.health import (
    DriveHealth,
    HiddenAreas,
    ata_health,
    nvme_health,
    smart_verdict,
)
from expunge.drives.identify.nvme import (
    parse_active_namespaces,
    parse_controller,
    parse_namespace,
    parse_smart_log,
)
from expunge.drives.identify.profile import DriveProfile
from expunge.drives.identify.scsi import (
    ATA_INFORMATION_PAGE,
    SANITIZE_OPCODE,
    AtaReturn,
    parse_ata_information,
    parse_supported_opcodes,
)
from expunge.drives.identify.smartctl import SmartctlReport, run_smartctl
from expunge.drives.model import Drive
from expunge.drives.sanitize import ata, nvme, scsi
from expunge.drives.sanitize.commands import (
    Completion,
    DriveCommand,
    NvmeAdminCommand,
    ScsiCommand,
)
from expunge.drives.sanitize.executor import CommandExecutor, IoctlExecutor
from expunge.drives.system import SYS

Smartctl = Callable[[str], SmartctlReport | None]


@dataclass
class _Asker:
    """Sends queries to one drive, keeping what went wrong instead of raising."""

    executor: CommandExecutor
    node: str
    problems: list[str] = field(default_factory=list)

    def send(self, command: DriveCommand) -> Completion | None:
        """The completion of ``command``, or None (the problem recorded)."""
        try:
            done = self.executor.execute(command)
            if isinstance(command, NvmeAdminCommand):
                nvme.check(done, command, self.node)
            elif isinstance(command, ScsiCommand) and command.cdb[0] != ata.ATA_PASS_THROUGH_16:
                scsi.check(done, command, self.node)
            return done
        except ExpungeError as exc:
            self.problems.append(f"{command.name}: {exc.message}")
        except OSError as exc:
            self.problems.append(f"{command.name}: {os.strerror(exc.errno or errno.EIO)}")
        return None

    def ata(self, command: ScsiCommand) -> tuple[Completion, AtaReturn | None] | None:
        """An ATA PASS-THROUGH command's completion and the drive's registers."""
        done = self.send(command)
        if done is None:
            return None
        try:
            return done, ata.registers(done, command, self.node)
        except ExpungeError as exc:
            self.problems.append(f"{command.name}: {exc.message}")
        return None


def probe_drive(
    drive: Drive,
    executor: CommandExecutor,
    *,
    sys_root: Path = SYS,
    smartctl: Smartctl | None = run_smartctl,
) -> DriveProfile:
    """The profile of ``drive``, asked through ``executor``.

    NVMe drives are asked with admin commands; ATA, SCSI and USB drives through SG_IO (ATA
    PASS-THROUGH where a SAT layer translates it, SCSI commands otherwise); every drive
    gets the block layer's discard support from sysfs. ``smartctl`` (when installed)
    supplies health where it answers; expunge's own SMART reading otherwise.
    """
    asker = _Asker(executor, drive.node)
    if drive.bus == "nvme":
        found = _nvme(drive, asker, sys_root)
    elif drive.bus in ("ata", "scsi", "usb"):
        found = _ata(asker) or _scsi(asker)
    else:
        found = DriveProfile("block")
    block = _block_operations(drive, sys_root)
    report = smartctl(drive.node) if smartctl is not None and not drive.virtual else None
    return replace(
        found,
        operations=(*found.operations, *block),
        health=report.health if report is not None else found.health,
        firmware=found.firmware or (report.firmware if report else None),
        problems=tuple(asker.problems),
    )


def probe_node(drive: Drive, *, smartctl: Smartctl | None = run_smartctl) -> DriveProfile:
    """The profile of ``drive``, asked through its device node opened read-only."""
    try:
        fd = os.open(drive.node, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return DriveProfile("none", problems=(f"cannot open: {exc.strerror}",))
    try:
        return probe_drive(drive, IoctlExecutor(fd, drive.node), smartctl=smartctl)
    finally:
        os.close(fd)


def _block_operations(drive: Drive, sys_root: Path) -> tuple[str, ...]:
    base = sys_root / "class/block" / drive.name / "queue"
    found = []
    if (read_attr(base, "discard_max_bytes") or "0") != "0":
        found.append(ops.DISCARD)
        # Only the MMC driver turns a secure discard into the medium's secure erase.
        if drive.bus == "mmc":
            found.append(ops.SECURE_DISCARD)
    return tuple(found)


def _nvme(drive: Drive, asker: _Asker, sys_root: Path) -> DriveProfile:
    answer = asker.send(nvme.identify(nvme.CNS_CONTROLLER))
    if answer is None:
        return DriveProfile("nvme")
    ctrl = parse_controller(answer.data)
    nsid_text = read_attr(sys_root / "class/block" / drive.name, "nsid")
    nsid = int(nsid_text) if nsid_text and nsid_text.isdigit() else 1
    namespace = asker.send(nvme.identify(nvme.CNS_NAMESPACE, nsid))
    listed = asker.send(nvme.identify(nvme.CNS_ACTIVE_NAMESPACES))
    smart = asker.send(nvme.get_log_page(nvme.LOG_SMART))
    found = []
    cap = ctrl.sanitize
    for supported, name in (
        (cap.crypto_erase, ops.NVME_SANITIZE_CRYPTO),
        (cap.block_erase, ops.NVME_SANITIZE_BLOCK),
        (cap.overwrite, ops.NVME_SANITIZE_OVERWRITE),
        (ctrl.format_nvm and ctrl.format_crypto_erase, ops.NVME_FORMAT_CRYPTO),
        (ctrl.format_nvm, ops.NVME_FORMAT_USER_DATA),
    ):
        if supported:
            found.append(name)
    ns = parse_namespace(namespace.data) if namespace is not None else None
    return DriveProfile(
        "nvme",
        tuple(found),
        model=ctrl.model,
        serial=ctrl.serial,
        firmware=ctrl.firmware,
        namespaces=parse_active_namespaces(listed.data) if listed is not None else (),
        format_erases_all_namespaces=ctrl.secure_erase_all_namespaces or ctrl.format_all_namespaces,
        namespace_id=nsid,
        lba_format=ns.format_index if ns is not None else None,
        deallocated_reads=ns.deallocated_reads if ns is not None else None,
        health=nvme_health(parse_smart_log(smart.data)) if smart is not None else None,
    )


def _ata(asker: _Asker) -> DriveProfile | None:
    """An ATA drive behind a SAT layer (libata, or a USB/SAS bridge); None when none
    answers (the problems say why)."""
    page = asker.send(scsi.inquiry_vpd(ATA_INFORMATION_PAGE))
    info = None
    if page is not None and page.data[1:2] == bytes([ATA_INFORMATION_PAGE]):
        try:
            info = parse_ata_information(page.data)
        except ExpungeError as exc:
            asker.problems.append(exc.message)
    identify = info.identify if info is not None else None
    if identify is None:
        answered = asker.ata(ata.identify_device())
        if answered is None:
            return None
        identify = answered[0].data
    try:
        ident = parse_identify(identify)
    except ExpungeError as exc:
        asker.problems.append(exc.message)
        return None
    bridge = f"{info.sat_vendor} {info.sat_product}".strip() if info is not None else None
    return DriveProfile(
        "ata",
        _ata_operations(ident),
        model=ident.model,
        serial=ident.serial,
        firmware=ident.firmware,
        security=ident.security,
        sanitize_frozen=_sanitize_frozen(asker, ident),
        bridge=bridge,
        health=_ata_smart(asker, ident),
        hidden=_hidden_areas(asker, ident),
    )


def _ata_operations(ident: AtaIdentify) -> tuple[str, ...]:
    san, sec = ident.sanitize, ident.security
    pairs = (
        (san.supported and san.crypto_scramble, ops.ATA_SANITIZE_CRYPTO),
        (san.supported and san.block_erase, ops.ATA_SANITIZE_BLOCK),
        (san.supported and san.overwrite, ops.ATA_SANITIZE_OVERWRITE),
        (sec.supported and sec.enhanced_erase, ops.ATA_SECURITY_ERASE_ENHANCED),
        (sec.supported, ops.ATA_SECURITY_ERASE),
    )
    return tuple(name for supported, name in pairs if supported)


def _sanitize_frozen(asker: _Asker, ident: AtaIdentify) -> bool:
    if not ident.sanitize.supported:
        return False
    answered = asker.ata(ata.sanitize_status())
    if answered is None or answered[1] is None:
        return False
    return ata.parse_sanitize_status(answered[1]).frozen


def _ata_smart(asker: _Asker, ident: AtaIdentify) -> DriveHealth | None:
    if not (ident.smart_supported and ident.smart_enabled):
        return None
    data = asker.ata(ata.smart_read_data())
    if data is None:
        return None
    status = asker.ata(ata.smart_return_status())
    verdict = None
    if status is not None and status[1] is not None:
        verdict = smart_verdict(status[1].lba >> 8 & 0xFF, status[1].lba >> 16 & 0xFF)
    try:
        return ata_health(data[0].data, verdict)
    except ExpungeError as exc:
        asker.problems.append(exc.message)
    return None


def _hidden_areas(asker: _Asker, ident: AtaIdentify) -> HiddenAreas:
    native = factory = None
    if ident.hpa_supported and ident.lba48:
        answered = asker.ata(ata.read_native_max_ext())
        if answered is not None and answered[1] is not None:
            native = answered[1].lba + 1
    if ident.dco_supported:
        answered = asker.ata(ata.dco_identify())
        if answered is not None:
            try:
                factory = parse_dco_identify(answered[0].data).max_lba + 1
            except ExpungeError as exc:
                asker.problems.append(exc.message)
    return HiddenAreas(visible=ident.sectors, native=native, factory=factory)


def _scsi(asker: _Asker) -> DriveProfile:
    """A SCSI drive (or a bridge that does not translate ATA): SANITIZE support from
    REPORT SUPPORTED OPERATION CODES."""
    answer = asker.send(scsi.report_supported_opcodes())
    if answer is None:
        # Neither ATA nor SCSI commands get through: only the block layer reaches it.
        return DriveProfile("none")
    try:
        codes = parse_supported_opcodes(answer.data)
    except ExpungeError as exc:
        asker.problems.append(exc.message)
        return DriveProfile("none")
    pairs = (
        (scsi.SanitizeServiceAction.CRYPTOGRAPHIC_ERASE, ops.SCSI_SANITIZE_CRYPTO),
        (scsi.SanitizeServiceAction.BLOCK_ERASE, ops.SCSI_SANITIZE_BLOCK),
        (scsi.SanitizeServiceAction.OVERWRITE, ops.SCSI_SANITIZE_OVERWRITE),
    )
    return DriveProfile(
        "scsi", tuple(name for action, name in pairs if (SANITIZE_OPCODE, action) in codes)
    )
