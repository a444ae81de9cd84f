"""Which of the drive's own operations a method becomes on one drive, or why none can run.

Pure: decides from the drive's facts and its profile. Every refusal says why and what to
do, and comes before anything is sent that could erase: a frozen security state, a
command the drive does not report, a bridge that does not pass commands through, a
controller whose Sanitize would erase namespaces the operator did not name.
"""

from __future__ import annotations

from dataclasses import replace

from expunge.certificates import MethodUsed
from expunge.core.errors import RefusedError
from expunge.drives import Drive
from expunge.drives.identify import DriveProfile
from expunge.drives.identify import profile as ops
from expunge.shred.patterns import PassPattern
from expunge.workflows.certify.device_work import SanitizeOperation

ZEROS = PassPattern.fixed(b"\0")
_LIST = "see what the drive supports with 'expunge drive list --all --json'"
_TABLES = "NIST SP 800-88 Rev. 1, Appendix A"


def _op(
    operation: str, protocol: str, command: str, used: MethodUsed, basis: str, *, purge: bool = True
) -> SanitizeOperation:
    return SanitizeOperation(operation, protocol, command, used.value, purge, basis)


CRYPTO, BLOCK, OVERWRITE = (
    MethodUsed.CRYPTOGRAPHIC_ERASE,
    MethodUsed.BLOCK_ERASE,
    MethodUsed.OVERWRITE,
)
_WHOLE = "every block, including spares and over-provisioning the host cannot address"
OPERATIONS: dict[str, SanitizeOperation] = {
    o.operation: o
    for o in (
        _op(ops.NVME_SANITIZE_CRYPTO, "nvme", "NVMe Sanitize, Crypto Erase", CRYPTO,
            f"the drive replaced the media encryption keys of {_WHOLE} ({_TABLES}, NVMe: Purge)"),
        _op(ops.NVME_SANITIZE_BLOCK, "nvme", "NVMe Sanitize, Block Erase", BLOCK,
            f"the drive erased {_WHOLE} ({_TABLES}, NVMe: Purge)"),
        replace(_op(ops.NVME_SANITIZE_OVERWRITE, "nvme", "NVMe Sanitize, Overwrite (zeros, 1 pass)",
            OVERWRITE, f"the drive overwrote {_WHOLE} ({_TABLES}, NVMe: Purge)"), expected=ZEROS),
        _op(ops.NVME_FORMAT_CRYPTO, "nvme", "NVMe Format NVM, Secure Erase Settings 010b", CRYPTO,
            f"cryptographic erase of the namespace by Format NVM ({_TABLES}, NVMe: Purge)"),
        _op(ops.NVME_FORMAT_USER_DATA, "nvme", "NVMe Format NVM, Secure Erase Settings 001b",
            BLOCK, f"user data erase of the namespace by Format NVM ({_TABLES}, NVMe: Purge)"),
        _op(ops.ATA_SANITIZE_CRYPTO, "ata", "ATA SANITIZE DEVICE, CRYPTO SCRAMBLE EXT", CRYPTO,
            f"the drive changed the internal encryption keys of {_WHOLE} ({_TABLES}: Purge)"),
        _op(ops.ATA_SANITIZE_BLOCK, "ata", "ATA SANITIZE DEVICE, BLOCK ERASE EXT", BLOCK,
            f"the drive erased {_WHOLE} ({_TABLES}: Purge)"),
        replace(_op(ops.ATA_SANITIZE_OVERWRITE, "ata", "ATA SANITIZE DEVICE, OVERWRITE EXT "
            "(zeros, 1 pass)", OVERWRITE, f"the drive overwrote {_WHOLE} ({_TABLES}: Purge)"),
            expected=ZEROS),
        _op(ops.ATA_SECURITY_ERASE_ENHANCED, "ata", "ATA SECURITY ERASE UNIT (enhanced)",
            OVERWRITE, f"enhanced security erase of a hard disk ({_TABLES}, ATA hard disk: Purge)"),
        _op(ops.ATA_SECURITY_ERASE, "ata", "ATA SECURITY ERASE UNIT (normal)", OVERWRITE,
            f"security erase of a hard disk ({_TABLES}, ATA hard disk: Purge)"),
        _op(ops.SCSI_SANITIZE_CRYPTO, "scsi", "SCSI SANITIZE, CRYPTOGRAPHIC ERASE", CRYPTO,
            f"the drive changed the encryption keys of {_WHOLE} ({_TABLES}, SCSI: Purge)"),
        _op(ops.SCSI_SANITIZE_BLOCK, "scsi", "SCSI SANITIZE, BLOCK ERASE", BLOCK,
            f"the drive erased {_WHOLE} ({_TABLES}, SCSI: Purge)"),
        replace(_op(ops.SCSI_SANITIZE_OVERWRITE, "scsi", "SCSI SANITIZE, OVERWRITE (zeros, "
            "1 pass)", OVERWRITE, f"the drive overwrote {_WHOLE} ({_TABLES}, SCSI: Purge)"),
            expected=ZEROS),
        _op(ops.SECURE_DISCARD, "block", "secure discard of every block (BLKSECDISCARD)",
            BLOCK, "the eMMC secure erase of every block and its old copies, through the "
            f"kernel's secure discard ({_TABLES}, flash memory cards: Purge)"),
        replace(_op(ops.DISCARD, "block", "discard of every block (BLKDISCARD)", MethodUsed.OTHER,
            "every block discarded (TRIM/UNMAP/Deallocate) and read back as zeros: the host can "
            "no longer read the data, but the cells may keep it until the controller erases "
            "them, so NIST SP 800-88 Clear at most", purge=False), expected=ZEROS),
    )
}  # fmt: skip

# For each method, the operations it may become, strongest first.
_CHOICES: dict[str, tuple[str, ...]] = {
    "sanitize": (
        ops.NVME_SANITIZE_CRYPTO, ops.NVME_SANITIZE_BLOCK, ops.NVME_SANITIZE_OVERWRITE,
        ops.ATA_SANITIZE_CRYPTO, ops.ATA_SANITIZE_BLOCK, ops.ATA_SANITIZE_OVERWRITE,
        ops.SCSI_SANITIZE_CRYPTO, ops.SCSI_SANITIZE_BLOCK, ops.SCSI_SANITIZE_OVERWRITE,
        ops.SECURE_DISCARD,
    ),
    "sanitize:crypto": (
        ops.NVME_SANITIZE_CRYPTO, ops.ATA_SANITIZE_CRYPTO, ops.SCSI_SANITIZE_CRYPTO,
    ),
    "sanitize:block": (ops.NVME_SANITIZE_BLOCK, ops.ATA_SANITIZE_BLOCK, ops.SCSI_SANITIZE_BLOCK),
    "sanitize:overwrite": (
        ops.NVME_SANITIZE_OVERWRITE, ops.ATA_SANITIZE_OVERWRITE, ops.SCSI_SANITIZE_OVERWRITE,
    ),
    "secure-erase": (
        ops.NVME_FORMAT_CRYPTO, ops.NVME_FORMAT_USER_DATA,
        ops.ATA_SECURITY_ERASE_ENHANCED, ops.ATA_SECURITY_ERASE,
    ),
    "discard": (ops.DISCARD,),
}  # fmt: skip


def choose_operation(method: str, drive: Drive, profile: DriveProfile) -> SanitizeOperation:
    """The operation ``method`` becomes on ``drive``; ``RefusedError`` when none can run."""
    candidates = [name for name in _CHOICES[method] if profile.supports(name)]
    if not candidates:
        raise _unsupported(method, drive, profile)
    operation = OPERATIONS[candidates[0]]
    _check_state(operation, drive, profile)
    if operation.operation == ops.NVME_SANITIZE_BLOCK and profile.deallocated_reads == "zeros":
        # The namespace says what erased blocks read as: the read-back can check it.
        operation = replace(operation, expected=ZEROS)
    if operation.protocol == "ata" and "SECURITY" in operation.command and not drive.rotational:
        operation = replace(
            operation,
            purge=False,
            basis=f"{operation.command} of flash memory: implementations differ in what they "
            "erase (remapped and spare blocks may be left), so expunge claims NIST SP 800-88 "
            "Clear for it; use -m sanitize where the drive supports ATA SANITIZE",
        )
    return operation


def _unsupported(method: str, drive: Drive, profile: DriveProfile) -> RefusedError:
    """Why no operation of ``method`` can run on this drive."""
    node = drive.node
    if method == "discard":
        return RefusedError(
            "the device does not support discard (queue/discard_max_bytes is 0)",
            target=node,
            remedy="use an overwrite method",
        )
    if drive.virtual:
        return RefusedError(
            "a virtual disk (loop, device-mapper, md) has no sanitize command of its own",
            target=node,
            remedy="use an overwrite method or -m discard, and erase the backing store",
        )
    if profile.transport in ("block", "none") and drive.bus in ("usb", "ata", "scsi"):
        bridge = [p for p in profile.problems if "bridge" in p] or list(profile.problems)
        why = f" ({bridge[0]})" if bridge else ""
        return RefusedError(
            f"the drive did not answer ATA or SCSI commands through its bridge{why}: the "
            "sanitize command cannot reach it",
            target=node,
            remedy="connect the drive to a SATA or NVMe port directly, or use an overwrite method",
        )
    offered = [o for o in profile.operations if o in OPERATIONS and o not in (ops.DISCARD,)]
    has = f"it reports {', '.join(offered)}" if offered else "it reports no sanitize operation"
    return RefusedError(
        f"the drive does not support -m {method}: {has}; nothing was erased",
        target=node,
        remedy=f"choose another method ({_LIST}), or an overwrite method",
    )


def _check_state(operation: SanitizeOperation, drive: Drive, profile: DriveProfile) -> None:
    """Refuse states in which the drive would reject, or exceed, the operation."""
    node, sec = drive.node, profile.security
    if operation.protocol == "nvme":
        erases_all = operation.operation.startswith("nvme-sanitize") or (
            profile.format_erases_all_namespaces
        )
        others = [n for n in profile.namespaces if n != profile.namespace_id]
        if erases_all and others:
            raise RefusedError(
                f"{operation.command} would also erase namespaces "
                f"{', '.join(map(str, others))} of this controller, which were not named",
                target=node,
                remedy="detach or delete the other namespaces first, or overwrite this one",
            )
    if operation.protocol != "ata" or sec is None:
        return
    if sec.locked:
        raise RefusedError(
            "the drive is locked by its ATA security password",
            target=node,
            remedy="unlock it with its password (hdparm --security-unlock), then retry",
        )
    if "SECURITY" in operation.command:
        _check_security(node, profile)
    elif profile.sanitize_frozen:
        raise RefusedError(
            "the drive is in Sanitize Frozen state (SANITIZE FREEZE LOCK): it rejects "
            "sanitize commands until it is power-cycled",
            target=node,
            remedy="power-cycle the drive (unplug and replug it), then retry",
        )


def _check_security(node: str, profile: DriveProfile) -> None:
    sec = profile.security
    assert sec is not None
    if sec.frozen:
        raise RefusedError(
            "the drive's security state is frozen (the firmware froze it at power-on): it "
            "rejects SECURITY ERASE until it is unfrozen",
            target=node,
            remedy="suspend and resume the computer (systemctl suspend), or hot-plug the "
            "drive's power, then retry",
        )
    if sec.enabled:
        raise RefusedError(
            "a user password is already set on the drive: its security erase needs that password",
            target=node,
            remedy="disable it with the password (hdparm --security-disable PASSWORD), then retry",
        )
    if sec.count_expired:
        raise RefusedError(
            "the drive has used up its password attempts",
            target=node,
            remedy="power-cycle the drive, then retry",
        )
