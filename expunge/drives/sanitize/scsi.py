"""SCSI commands (T10 SBC-4, SPC-5): SANITIZE, REQUEST SENSE, INQUIRY of a VPD page and
REPORT SUPPORTED OPERATION CODES, and what a SCSI completion means."""

from __future__ import annotations

from enum import IntEnum

from expunge.core.errors import RefusedError, TargetError
from expunge.drives.identify.scsi import SANITIZE_OPCODE, Sense
from expunge.drives.sanitize.commands import Completion, ScsiCommand

INQUIRY = 0x12
REQUEST_SENSE = 0x03
MAINTENANCE_IN = 0xA3
REPORT_SUPPORTED_OPCODES = 0x0C
VPD_ALLOCATION = 1024
OPCODES_ALLOCATION = 8192
SENSE_ALLOCATION = 252


class SanitizeServiceAction(IntEnum):
    """SANITIZE service actions (SBC-4 Table 62)."""

    OVERWRITE = 0x01
    BLOCK_ERASE = 0x02
    CRYPTOGRAPHIC_ERASE = 0x03
    EXIT_FAILURE_MODE = 0x1F


def inquiry_vpd(page: int, allocation: int = VPD_ALLOCATION) -> ScsiCommand:
    """INQUIRY (12h) with EVPD set for VPD page ``page``."""
    cdb = bytes([INQUIRY, 0x01, page, allocation >> 8 & 0xFF, allocation & 0xFF, 0])
    return ScsiCommand(f"inquiry vpd {page:#04x}", cdb, data_in=allocation)


def report_supported_opcodes(allocation: int = OPCODES_ALLOCATION) -> ScsiCommand:
    """REPORT SUPPORTED OPERATION CODES (A3h/0Ch), reporting options 000b: every command."""
    cdb = bytearray(12)
    cdb[0], cdb[1] = MAINTENANCE_IN, REPORT_SUPPORTED_OPCODES
    cdb[6:10] = allocation.to_bytes(4, "big")
    return ScsiCommand("report supported operation codes", bytes(cdb), data_in=allocation)


def request_sense() -> ScsiCommand:
    """REQUEST SENSE (03h) in descriptor format (DESC, byte 1 bit 0): while a sanitize
    runs, the answer carries its progress indication."""
    cdb = bytes([REQUEST_SENSE, 0x01, 0, 0, SENSE_ALLOCATION, 0])
    return ScsiCommand("request sense", cdb, data_in=SENSE_ALLOCATION)


def sanitize(
    action: SanitizeServiceAction,
    *,
    pattern: bytes = b"",
    passes: int = 1,
    invert: bool = False,
    allow_unrestricted_exit: bool = False,
) -> ScsiCommand:
    """SANITIZE (48h), with IMMED set so that it returns at once and is polled.

    CDB byte 1: IMMED bit 7, AUSE bit 5, SERVICE ACTION bits 4:0; bytes 7-8 the
    parameter list length. OVERWRITE sends a parameter list (SBC-4 Table 64): byte 0
    INVERT bit 7, TEST bits 6:5 (0), OVERWRITE COUNT bits 4:0; bytes 2-3 the
    initialization pattern length, then the pattern.
    """
    parameters = b""
    if action is SanitizeServiceAction.OVERWRITE:
        if not 1 <= passes <= 31 or not 1 <= len(pattern) <= 512:
            raise ValueError("a SCSI overwrite takes 1 to 31 passes and a 1 to 512 byte pattern")
        parameters = bytes([invert << 7 | passes, 0]) + len(pattern).to_bytes(2, "big") + pattern
    cdb = bytearray(10)
    cdb[0] = SANITIZE_OPCODE
    cdb[1] = 0x80 | allow_unrestricted_exit << 5 | action
    cdb[7:9] = len(parameters).to_bytes(2, "big")
    return ScsiCommand(
        f"sanitize ({action.name.lower().replace('_', ' ')})", bytes(cdb), data_out=parameters
    )


def check(completion: Completion, command: ScsiCommand, node: str) -> Sense | None:
    """The sense data of a completion that went through (GOOD, or CHECK CONDITION that
    only reports); ILLEGAL REQUEST is a refusal, anything else a failure."""
    sense = completion.parsed_sense
    if completion.host_status or completion.driver_status & ~0x08:
        raise TargetError(f"{command.name}: the transport failed", target=node)
    if completion.status == 0 or sense is None or sense.key in (0x0, 0x1):
        return sense
    if sense.key == 0x5:
        raise RefusedError(
            f"the drive refused {command.name} ({sense.describe()}); nothing was erased",
            target=node,
            remedy="choose a method the drive supports (see 'expunge drive list --json')",
        )
    if sense.sanitize_in_progress:
        return sense
    raise TargetError(f"{command.name} failed: {sense.describe()}", target=node)
