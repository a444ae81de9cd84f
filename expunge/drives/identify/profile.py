"""What a drive can do beyond being overwritten, and how it is: its sanitize operations,
the state that may block them, its health and hidden areas, as one frozen profile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from expunge.drives.identify.ata import AtaSecurity
from expunge.drives.identify.health import DriveHealth, HiddenAreas

# Operation names, by interface. A profile lists those the drive reports supporting.
NVME_SANITIZE_CRYPTO = "nvme-sanitize-crypto"
NVME_SANITIZE_BLOCK = "nvme-sanitize-block"
NVME_SANITIZE_OVERWRITE = "nvme-sanitize-overwrite"
NVME_FORMAT_USER_DATA = "nvme-format-user-data-erase"
NVME_FORMAT_CRYPTO = "nvme-format-crypto-erase"
ATA_SANITIZE_CRYPTO = "ata-sanitize-crypto-scramble"
ATA_SANITIZE_BLOCK = "ata-sanitize-block-erase"
ATA_SANITIZE_OVERWRITE = "ata-sanitize-overwrite"
ATA_SECURITY_ERASE = "ata-security-erase"
ATA_SECURITY_ERASE_ENHANCED = "ata-security-erase-enhanced"
SCSI_SANITIZE_CRYPTO = "scsi-sanitize-crypto"
SCSI_SANITIZE_BLOCK = "scsi-sanitize-block"
SCSI_SANITIZE_OVERWRITE = "scsi-sanitize-overwrite"
SECURE_DISCARD = "blk-secure-discard"
DISCARD = "blk-discard"


@dataclass(frozen=True)
class DriveProfile:
    """A drive's own answers: how it is reached and what it supports.

    ``transport`` is how commands reach it: ``nvme`` (admin passthrough), ``ata`` (ATA
    PASS-THROUGH through libata or a USB/SAS bridge that translates it), ``scsi``,
    ``block`` (only the block layer's requests: a virtual disk, a memory card), or
    ``none`` (a bridge that passed neither ATA nor SCSI commands on). ``operations`` are
    the sanitize operations it reports; ``security`` the ATA security state (frozen or locked drives
    refuse a security erase); ``sanitize_frozen`` an ATA drive in Sanitize Frozen state;
    ``namespaces`` the active namespaces of an NVMe controller (a Sanitize erases them
    all; so does a Format NVM secure erase where ``format_erases_all_namespaces``);
    ``bridge`` the SAT layer in front of an ATA drive. ``problems`` say what could
    not be asked, and why.
    """

    transport: str
    operations: tuple[str, ...] = ()
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    security: AtaSecurity | None = None
    sanitize_frozen: bool = False
    namespaces: tuple[int, ...] = ()
    format_erases_all_namespaces: bool = False
    namespace_id: int | None = None
    lba_format: int | None = None
    deallocated_reads: str | None = None
    bridge: str | None = None
    health: DriveHealth | None = None
    hidden: HiddenAreas | None = None
    problems: tuple[str, ...] = ()

    def supports(self, operation: str) -> bool:
        """Whether the drive reports ``operation``."""
        return operation in self.operations

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``drive list --json``."""
        return {
            "transport": self.transport,
            "operations": list(self.operations),
            "model": self.model,
            "serial": self.serial,
            "firmware": self.firmware,
            "security": self.security.to_dict() if self.security else None,
            "sanitize_frozen": self.sanitize_frozen,
            "namespaces": list(self.namespaces),
            "format_erases_all_namespaces": self.format_erases_all_namespaces,
            "namespace_id": self.namespace_id,
            "deallocated_reads": self.deallocated_reads,
            "bridge": self.bridge,
            "health": self.health.to_dict() if self.health else None,
            "hidden_areas": self.hidden.to_dict() if self.hidden else None,
            "problems": list(self.problems),
        }
