"""NVMe admin commands (NVM Express Base Specification 2.0): Identify, Get Log Page,
Sanitize and Format NVM, and what their completion status means."""

from __future__ import annotations

from enum import IntEnum

from expunge.core.errors import RefusedError, TargetError
from expunge.drives.identify.nvme import IDENTIFY_BYTES, LOG_PAGE_BYTES
from expunge.drives.sanitize.commands import Completion, NvmeAdminCommand

OP_GET_LOG_PAGE = 0x02
OP_IDENTIFY = 0x06
OP_FORMAT_NVM = 0x80
OP_SANITIZE = 0x84

CNS_NAMESPACE = 0x00
CNS_CONTROLLER = 0x01
CNS_ACTIVE_NAMESPACES = 0x02

LOG_SMART = 0x02
LOG_SANITIZE = 0x81

ALL_NAMESPACES = 0xFFFFFFFF
# A Format NVM or Sanitize returns once accepted; the work goes on in the background
# (Sanitize) or, for Format NVM, may take minutes before the command completes.
FORMAT_TIMEOUT_MS = 3 * 3600 * 1000


class SanitizeAction(IntEnum):
    """SANACT (CDW10 bits 2:0)."""

    EXIT_FAILURE_MODE = 0b001
    BLOCK_ERASE = 0b010
    OVERWRITE = 0b011
    CRYPTO_ERASE = 0b100


class SecureErase(IntEnum):
    """Format NVM Secure Erase Settings (CDW10 bits 11:9)."""

    NONE = 0b000
    USER_DATA = 0b001
    CRYPTOGRAPHIC = 0b010


def identify(cns: int, nsid: int = 0) -> NvmeAdminCommand:
    """Identify (06h) with CNS in CDW10 bits 7:0: 4096 bytes returned."""
    return NvmeAdminCommand(
        f"identify cns {cns}", OP_IDENTIFY, nsid=nsid, cdw10=cns, data_in=IDENTIFY_BYTES
    )


def get_log_page(
    lid: int, length: int = LOG_PAGE_BYTES, nsid: int = ALL_NAMESPACES
) -> NvmeAdminCommand:
    """Get Log Page (02h): NUMD, the dword count minus one, split over CDW10 bits 31:16
    (lower half) and CDW11 bits 15:0 (upper half); LID in CDW10 bits 7:0."""
    numd = length // 4 - 1
    return NvmeAdminCommand(
        f"get log page {lid:#04x}",
        OP_GET_LOG_PAGE,
        nsid=nsid,
        cdw10=lid | (numd & 0xFFFF) << 16,
        cdw11=numd >> 16,
        data_in=length,
    )


def sanitize(
    action: SanitizeAction,
    *,
    allow_unrestricted_exit: bool = False,
    overwrite_passes: int = 1,
    invert_between_passes: bool = False,
    no_deallocate: bool = False,
    pattern: int = 0,
) -> NvmeAdminCommand:
    """Sanitize (84h): CDW10 SANACT bits 2:0, AUSE bit 3, OWPASS bits 7:4 (0 means 16),
    OIPBP bit 8, NDAS bit 9; CDW11 the 32-bit overwrite pattern. It acts on the whole
    NVM subsystem, every namespace, whatever the namespace ID."""
    if not 1 <= overwrite_passes <= 16:
        raise ValueError("an NVMe overwrite takes 1 to 16 passes")
    overwrite = action is SanitizeAction.OVERWRITE
    # OWPASS and OIPBP are overwrite fields: other actions leave them zero, as drives
    # record them (a real crypto erase logs SCDW10 20Ch).
    cdw10 = action | allow_unrestricted_exit << 3 | no_deallocate << 9
    if overwrite:
        cdw10 |= (overwrite_passes & 0xF) << 4 | invert_between_passes << 8
    return NvmeAdminCommand(
        f"sanitize ({action.name.lower().replace('_', ' ')})",
        OP_SANITIZE,
        cdw10=cdw10,
        cdw11=pattern if overwrite else 0,
    )


def format_nvm(
    nsid: int, lba_format: int, secure_erase: SecureErase, metadata_settings: int = 0
) -> NvmeAdminCommand:
    """Format NVM (80h): CDW10 LBAF bits 3:0 (upper bits 13:12), MSET bit 4, PI bits 7:5
    (0: none), PIL bit 8, SES bits 11:9. Keeps the current LBA format, so the namespace
    size does not change."""
    if not 0 <= lba_format < 64:
        raise ValueError("an LBA format index is 0 to 63")
    cdw10 = (
        (lba_format & 0xF)
        | (metadata_settings & 1) << 4
        | secure_erase << 9
        | (lba_format >> 4 & 0x3) << 12
    )
    return NvmeAdminCommand(
        f"format nvm (secure erase {secure_erase.name.lower().replace('_', ' ')})",
        OP_FORMAT_NVM,
        nsid=nsid,
        cdw10=cdw10,
        timeout_ms=FORMAT_TIMEOUT_MS,
    )


# Status codes worth a sentence (Base 2.0 Figures 100 and 101).
_GENERIC = {
    0x01: "invalid command opcode (the controller does not implement it)",
    0x02: "invalid field in command (an action or setting it does not support)",
    0x1C: "sanitize failed (the controller stays in sanitize failure mode until one succeeds)",
    0x1D: "a sanitize operation is in progress",
    0x20: "the namespace is write protected",
}
_COMMAND_SPECIFIC = {
    0x0A: "invalid format (the LBA format or protection setting is not supported)",
    0x23: "sanitize prohibited while persistent memory region is enabled",
}


def status_text(status: int) -> str:
    """A completion status (SCT in bits 10:8, SC in bits 7:0) in words."""
    sct, sc = status >> 8 & 0x7, status & 0xFF
    table = {0: _GENERIC, 1: _COMMAND_SPECIFIC}.get(sct, {})
    return table.get(sc, f"status code type {sct}, status code {sc:#04x}")


def check(completion: Completion, command: NvmeAdminCommand, node: str) -> Completion:
    """The completion if it succeeded; the controller's refusal as an error otherwise.

    An unsupported command or setting is a refusal (nothing was erased); any other
    failed status is a problem with the drive.
    """
    if completion.status == 0:
        return completion
    text = status_text(completion.status)
    sct, sc = completion.status >> 8 & 0x7, completion.status & 0xFF
    if sct == 0 and sc in (0x01, 0x02):
        raise RefusedError(
            f"the drive refused {command.name}: {text}; nothing was erased",
            target=node,
            remedy="choose a method the drive supports (see 'expunge drive list --json')",
        )
    raise TargetError(f"{command.name} failed: {text}", target=node)
