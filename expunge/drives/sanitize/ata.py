"""ATA commands inside SCSI ATA PASS-THROUGH (16) CDBs (T10 SAT-4 12.2.2), and what the
drive's registers say afterwards.

CDB layout (SAT-4 Table 163): byte 0 opcode 85h; byte 1 PROTOCOL (bits 4:1) and EXTEND
(bit 0); byte 2 OFF_LINE, CK_COND (bit 5), T_TYPE, T_DIR (bit 3), BYT_BLOK (bit 2),
T_LENGTH (bits 1:0); bytes 3-4 FEATURES 15:8 / 7:0; 5-6 COUNT 15:8 / 7:0; 7-12 LBA as
31:24, 7:0, 39:32, 15:8, 47:40, 23:16; 13 DEVICE; 14 COMMAND; 15 CONTROL.
Commands from T13 ACS-3 (security, sanitize, SMART, native max) and ACS-2 (DCO).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from expunge.core.errors import RefusedError, TargetError
from expunge.drives.identify.ata import IDENTIFY_BYTES
from expunge.drives.identify.scsi import AtaReturn
from expunge.drives.sanitize.commands import Completion, ScsiCommand

ATA_PASS_THROUGH_16 = 0x85
DEVICE_LBA = 0x40
"""DEVICE register bit 6: the LBA field holds a logical block address."""

CMD_IDENTIFY = 0xEC
CMD_SMART = 0xB0
CMD_SANITIZE = 0xB4
CMD_DCO = 0xB1
CMD_READ_NATIVE_MAX_EXT = 0x27
CMD_SET_MAX_EXT = 0x37
CMD_SECURITY_SET_PASSWORD = 0xF1
CMD_SECURITY_ERASE_PREPARE = 0xF3
CMD_SECURITY_ERASE_UNIT = 0xF4
CMD_SECURITY_DISABLE_PASSWORD = 0xF6

SMART_READ_DATA = 0xD0
SMART_RETURN_STATUS = 0xDA
SMART_SIGNATURE = 0xC24F << 8
"""LBA Mid 4Fh, LBA High C2h: required by every SMART subcommand."""
DCO_IDENTIFY = 0xC2

SANITIZE_STATUS = 0x0000
SANITIZE_CRYPTO_SCRAMBLE = 0x0011
SANITIZE_BLOCK_ERASE = 0x0012
SANITIZE_OVERWRITE = 0x0014
# Each sanitize subcommand carries a signature in the LBA field, so that a stray command
# cannot destroy a drive (ACS-3 7.36): "Cryp", "BkEr", and "OW" above the pattern.
SIGNATURE_CRYPTO = 0x43727970
SIGNATURE_BLOCK = 0x426B4572
SIGNATURE_OVERWRITE = 0x4F57

_ATA_TIMEOUT_MS = 30_000


class Protocol(IntEnum):
    """SAT PROTOCOL field values used here."""

    NON_DATA = 3
    PIO_IN = 4
    PIO_OUT = 5


@dataclass(frozen=True)
class Taskfile:
    """The ATA registers of one command."""

    command: int
    features: int = 0
    count: int = 0
    lba: int = 0
    device: int = DEVICE_LBA
    extend: bool = False


def pass_through(
    name: str,
    tf: Taskfile,
    protocol: Protocol,
    *,
    data_out: bytes = b"",
    data_in: int = 0,
    timeout_ms: int = _ATA_TIMEOUT_MS,
) -> ScsiCommand:
    """The ATA PASS-THROUGH (16) command carrying ``tf``.

    Data commands transfer whole 512-byte sectors whose count is in the COUNT field
    (T_LENGTH 2, BYT_BLOK 1); non-data commands set CK_COND so that the drive's
    registers come back in the sense data.
    """
    cdb = bytearray(16)
    cdb[0] = ATA_PASS_THROUGH_16
    cdb[1] = protocol << 1 | int(tf.extend)
    if protocol is Protocol.NON_DATA:
        cdb[2] = 0x20
    else:
        cdb[2] = 0x06 | (0x08 if protocol is Protocol.PIO_IN else 0)
    cdb[3], cdb[4] = tf.features >> 8 & 0xFF, tf.features & 0xFF
    cdb[5], cdb[6] = tf.count >> 8 & 0xFF, tf.count & 0xFF
    lba = tf.lba
    cdb[7], cdb[8] = lba >> 24 & 0xFF, lba & 0xFF
    cdb[9], cdb[10] = lba >> 32 & 0xFF, lba >> 8 & 0xFF
    cdb[11], cdb[12] = lba >> 40 & 0xFF, lba >> 16 & 0xFF
    cdb[13] = tf.device
    cdb[14] = tf.command
    return ScsiCommand(name, bytes(cdb), data_in=data_in, data_out=data_out, timeout_ms=timeout_ms)


def identify_device() -> ScsiCommand:
    """IDENTIFY DEVICE (ECh): one 512-byte sector in."""
    return pass_through(
        "identify device", Taskfile(CMD_IDENTIFY, count=1), Protocol.PIO_IN, data_in=IDENTIFY_BYTES
    )


def smart_read_data() -> ScsiCommand:
    """SMART READ DATA (B0h/D0h): the attribute table."""
    tf = Taskfile(CMD_SMART, features=SMART_READ_DATA, count=1, lba=SMART_SIGNATURE)
    return pass_through("smart read data", tf, Protocol.PIO_IN, data_in=512)


def smart_return_status() -> ScsiCommand:
    """SMART RETURN STATUS (B0h/DAh): the verdict in LBA Mid/High."""
    tf = Taskfile(CMD_SMART, features=SMART_RETURN_STATUS, lba=SMART_SIGNATURE)
    return pass_through("smart return status", tf, Protocol.NON_DATA)


def read_native_max_ext() -> ScsiCommand:
    """READ NATIVE MAX ADDRESS EXT (27h): the highest native LBA, in the LBA field."""
    tf = Taskfile(CMD_READ_NATIVE_MAX_EXT, extend=True)
    return pass_through("read native max address ext", tf, Protocol.NON_DATA)


def set_max_ext(max_lba: int, *, volatile: bool = True) -> ScsiCommand:
    """SET MAX ADDRESS EXT (37h): the highest addressable LBA. COUNT bit 0 (VOLATILE
    VALUE) clear: the change lasts until the next power cycle or reset."""
    tf = Taskfile(CMD_SET_MAX_EXT, count=0 if volatile else 1, lba=max_lba, extend=True)
    return pass_through("set max address ext", tf, Protocol.NON_DATA)


def dco_identify() -> ScsiCommand:
    """DEVICE CONFIGURATION IDENTIFY (B1h/C2h): one 512-byte sector in."""
    tf = Taskfile(CMD_DCO, features=DCO_IDENTIFY, count=1)
    return pass_through("device configuration identify", tf, Protocol.PIO_IN, data_in=512)


def _password_sector(password: bytes, *, control: int) -> bytes:
    """The 512-byte data of the security commands: word 0 control bits, words 1-16 the
    32-byte password (shorter ones are padded with zeros, as hdparm does)."""
    if len(password) > 32:
        raise ValueError("an ATA password is at most 32 bytes")
    sector = bytearray(512)
    sector[0:2] = control.to_bytes(2, "little")
    sector[2 : 2 + len(password)] = password
    return bytes(sector)


def security_set_password(password: bytes) -> ScsiCommand:
    """SECURITY SET PASSWORD (F1h): the user password (word 0 bit 0 clear), master
    password capability High (bit 8 clear)."""
    return pass_through(
        "security set password",
        Taskfile(CMD_SECURITY_SET_PASSWORD, count=1),
        Protocol.PIO_OUT,
        data_out=_password_sector(password, control=0),
    )


def security_erase_prepare() -> ScsiCommand:
    """SECURITY ERASE PREPARE (F3h): must immediately precede SECURITY ERASE UNIT."""
    return pass_through(
        "security erase prepare", Taskfile(CMD_SECURITY_ERASE_PREPARE), Protocol.NON_DATA
    )


def security_erase_unit(password: bytes, *, enhanced: bool, timeout_ms: int) -> ScsiCommand:
    """SECURITY ERASE UNIT (F4h) with the user password; word 0 bit 1 selects the
    enhanced erase. The command returns only when the erase is done: ``timeout_ms``
    must cover the time the drive reports (IDENTIFY words 89/90)."""
    return pass_through(
        f"security erase unit ({'enhanced' if enhanced else 'normal'})",
        Taskfile(CMD_SECURITY_ERASE_UNIT, count=1),
        Protocol.PIO_OUT,
        data_out=_password_sector(password, control=0x2 if enhanced else 0),
        timeout_ms=timeout_ms,
    )


def security_disable_password(password: bytes) -> ScsiCommand:
    """SECURITY DISABLE PASSWORD (F6h) with the user password: undoes a password set for
    an erase that then failed, so the drive does not come up locked."""
    return pass_through(
        "security disable password",
        Taskfile(CMD_SECURITY_DISABLE_PASSWORD, count=1),
        Protocol.PIO_OUT,
        data_out=_password_sector(password, control=0),
    )


def sanitize_crypto_scramble() -> ScsiCommand:
    """SANITIZE DEVICE / CRYPTO SCRAMBLE EXT (B4h/0011h)."""
    tf = Taskfile(
        CMD_SANITIZE, features=SANITIZE_CRYPTO_SCRAMBLE, lba=SIGNATURE_CRYPTO, extend=True
    )
    return pass_through("sanitize crypto scramble ext", tf, Protocol.NON_DATA)


def sanitize_block_erase() -> ScsiCommand:
    """SANITIZE DEVICE / BLOCK ERASE EXT (B4h/0012h)."""
    tf = Taskfile(CMD_SANITIZE, features=SANITIZE_BLOCK_ERASE, lba=SIGNATURE_BLOCK, extend=True)
    return pass_through("sanitize block erase ext", tf, Protocol.NON_DATA)


def sanitize_overwrite(pattern: int, passes: int = 1, *, invert: bool = False) -> ScsiCommand:
    """SANITIZE DEVICE / OVERWRITE EXT (B4h/0014h): LBA 47:32 the signature, 31:0 the
    pattern; COUNT bit 7 INVERT between passes, bits 3:0 the pass count (0 means 16)."""
    if not 1 <= passes <= 16:
        raise ValueError("an ATA overwrite takes 1 to 16 passes")
    tf = Taskfile(
        CMD_SANITIZE,
        features=SANITIZE_OVERWRITE,
        count=(passes & 0xF) | invert << 7,
        lba=SIGNATURE_OVERWRITE << 32 | pattern & 0xFFFFFFFF,
        extend=True,
    )
    return pass_through("sanitize overwrite ext", tf, Protocol.NON_DATA)


def sanitize_status() -> ScsiCommand:
    """SANITIZE STATUS EXT (B4h/0000h): progress in LBA 15:0, state in COUNT."""
    tf = Taskfile(CMD_SANITIZE, features=SANITIZE_STATUS, extend=True)
    return pass_through("sanitize status ext", tf, Protocol.NON_DATA)


@dataclass(frozen=True)
class SanitizeProgress:
    """What SANITIZE STATUS EXT returned (ACS-3 Table 153)."""

    progress: float
    in_progress: bool
    completed_without_error: bool
    frozen: bool


def parse_sanitize_status(registers: AtaReturn) -> SanitizeProgress:
    """COUNT bit 15: completed without error; bit 14: in progress; bit 13: frozen;
    LBA 15:0: progress in 65536ths."""
    return SanitizeProgress(
        progress=(registers.lba & 0xFFFF) / 65536,
        in_progress=bool(registers.count >> 14 & 1),
        completed_without_error=bool(registers.count >> 15 & 1),
        frozen=bool(registers.count >> 13 & 1),
    )


class NotPassedThrough(RefusedError):
    """The device (a USB bridge, a RAID controller) does not pass ATA commands on."""


def registers(completion: Completion, command: ScsiCommand, node: str) -> AtaReturn | None:
    """The drive's registers after ``command``; the drive's or the bridge's refusal as an
    error. None for a data command that succeeded without returning registers.

    With CK_COND, SAT answers CHECK CONDITION with RECOVERED ERROR / ATA PASS THROUGH
    INFORMATION AVAILABLE (00h/1Dh) and the registers: that is success. A bridge that
    does not implement ATA PASS-THROUGH answers ILLEGAL REQUEST (invalid opcode or field
    in CDB): that is ``NotPassedThrough``, with the remedy. A drive that aborts the
    command (unsupported, frozen, wrong password) is a refusal too: nothing was erased.
    """
    if completion.host_status or completion.driver_status & ~0x08:
        raise TargetError(
            f"{command.name}: the transport failed (host status {completion.host_status:#x}, "
            f"driver status {completion.driver_status:#x})",
            target=node,
            remedy="check the cable and the port",
        )
    sense = completion.parsed_sense
    if sense is not None and sense.key == 0x5 and sense.asc in (0x20, 0x24):
        raise NotPassedThrough(
            f"{command.name} was not passed to the drive ({sense.describe()}): the bridge "
            "does not translate ATA commands",
            target=node,
            remedy="connect the drive directly to a SATA port, or use an overwrite method",
        )
    ata = sense.ata if sense is not None else None
    if ata is not None and ata.failed:
        raise RefusedError(
            f"the drive aborted {command.name} (status {ata.status:#04x}, error "
            f"{ata.error:#04x}); nothing was erased",
            target=node,
            remedy="the drive does not allow it now: check 'expunge drive list --json'",
        )
    if completion.status not in (0, 2):
        raise TargetError(f"{command.name} failed: SCSI status {completion.status:#x}", target=node)
    if sense is not None and ata is None and sense.key not in (0x0, 0x1):
        raise TargetError(f"{command.name} failed: {sense.describe()}", target=node)
    return ata
