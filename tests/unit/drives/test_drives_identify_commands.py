"""The command buffers, byte by byte, against the specifications they come from.

Expected bytes are written out by hand from the specifications' tables (NVMe Base 2.0,
SAT-4 Table 163, ACS-3, SBC-4), not computed by the code under test.
"""

from __future__ import annotations

import ctypes
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expunge.drives.identify.nvme import parse_sanitize_log
from expunge.drives.sanitize import ata, blk, nvme, scsi
from expunge.drives.sanitize.commands import NVME_ADMIN_STRUCT, NVME_IOCTL_ADMIN_CMD
from expunge.drives.sanitize.executor import _SgIoHdr
from tests.support.drive_samples import nvme as nvme_sample


def _dwords(command: nvme.NvmeAdminCommand) -> dict[str, int]:
    fields = NVME_ADMIN_STRUCT.unpack(command.pack(0x1000))
    names = [
        "opcode",
        "flags",
        "rsvd",
        "nsid",
        "cdw2",
        "cdw3",
        "metadata",
        "addr",
        "metadata_len",
        "data_len",
    ]
    names += [f"cdw{n}" for n in range(10, 16)] + ["timeout_ms", "result"]
    return dict(zip(names, fields, strict=True))


def test_the_ioctl_structures_have_the_kernel_layout() -> None:
    assert NVME_ADMIN_STRUCT.size == 72
    assert (3 << 30) | (72 << 16) | (ord("N") << 8) | 0x41 == NVME_IOCTL_ADMIN_CMD
    assert ctypes.sizeof(_SgIoHdr) == 88
    packed = nvme.identify(1).pack(0x1122334455667788)
    assert packed[0] == 0x06 and packed[24:32] == (0x1122334455667788).to_bytes(8, "little")
    assert packed[36:40] == (4096).to_bytes(4, "little") and packed[40:44] == b"\x01\0\0\0"


def test_nvme_sanitize_crypto_erase_matches_what_a_real_drive_logged() -> None:
    # The real crypto-erase log page records SCDW10 = 20Ch: SANACT 100b, AUSE, NDAS.
    command = nvme.sanitize(
        nvme.SanitizeAction.CRYPTO_ERASE, allow_unrestricted_exit=True, no_deallocate=True
    )
    d = _dwords(command)
    assert d["opcode"] == 0x84 and d["cdw10"] == 0x20C and d["cdw11"] == 0
    logged = parse_sanitize_log(nvme_sample("sanitize-log-crypto-erase"))
    assert int.from_bytes(nvme_sample("sanitize-log-crypto-erase")[4:8], "little") == 0x20C
    assert logged.action == d["cdw10"] & 0x7


def test_nvme_sanitize_block_erase_and_overwrite() -> None:
    # As the real block-erase log page records it: SCDW10 = 2.
    assert int.from_bytes(nvme_sample("sanitize-log-block-erase")[4:8], "little") == 0x2
    assert _dwords(nvme.sanitize(nvme.SanitizeAction.BLOCK_ERASE))["cdw10"] == 0x2
    overwrite = nvme.sanitize(
        nvme.SanitizeAction.OVERWRITE,
        overwrite_passes=3,
        invert_between_passes=True,
        pattern=0xDEADBEEF,
    )
    d = _dwords(overwrite)
    # SANACT 011b, OWPASS 3 in bits 7:4, OIPBP bit 8; the pattern in CDW11.
    assert d["cdw10"] == 0x133 and d["cdw11"] == 0xDEADBEEF and d["data_len"] == 0
    assert (
        _dwords(nvme.sanitize(nvme.SanitizeAction.OVERWRITE, overwrite_passes=16))["cdw10"] == 0x003
    )  # 16 passes are written as 0
    with pytest.raises(ValueError):
        nvme.sanitize(nvme.SanitizeAction.OVERWRITE, overwrite_passes=17)


def test_nvme_format_nvm_secure_erase_settings() -> None:
    d = _dwords(nvme.format_nvm(1, 1, nvme.SecureErase.CRYPTOGRAPHIC))
    assert d["opcode"] == 0x80 and d["nsid"] == 1 and d["cdw10"] == 0x401
    d = _dwords(nvme.format_nvm(7, 0x12, nvme.SecureErase.USER_DATA))
    # LBAF 12h: low nibble 2 in bits 3:0, upper bits 1 in bits 13:12; SES 001b.
    assert d["cdw10"] == 0x2 | 0x1 << 9 | 0x1 << 12


def test_nvme_get_log_page_and_identify() -> None:
    d = _dwords(nvme.get_log_page(nvme.LOG_SANITIZE))
    assert d["opcode"] == 0x02 and d["nsid"] == 0xFFFFFFFF
    assert d["cdw10"] == 0x007F0081 and d["cdw11"] == 0 and d["data_len"] == 512
    d = _dwords(nvme.identify(nvme.CNS_NAMESPACE, nsid=3))
    assert (d["opcode"], d["nsid"], d["cdw10"], d["data_len"]) == (0x06, 3, 0, 4096)


@given(st.integers(min_value=1, max_value=1 << 20).map(lambda n: 4 * n))
def test_get_log_page_dword_count_round_trips(length: int) -> None:
    d = _dwords(nvme.get_log_page(0x02, length))
    assert ((d["cdw11"] & 0xFFFF) << 16 | d["cdw10"] >> 16) + 1 == length // 4


def _hex(text: str) -> bytes:
    return bytes.fromhex(text)


def test_ata_identify_and_security_erase_cdbs() -> None:
    assert ata.identify_device().cdb == _hex("85 08 0e 00 00 00 01 00 00 00 00 00 00 40 ec 00")
    assert ata.identify_device().data_in == 512
    assert ata.security_erase_prepare().cdb == _hex(
        "85 06 20 00 00 00 00 00 00 00 00 00 00 40 f3 00"
    )
    erase = ata.security_erase_unit(b"pw", enhanced=True, timeout_ms=1000)
    assert erase.cdb == _hex("85 0a 06 00 00 00 01 00 00 00 00 00 00 40 f4 00")
    # Word 0: identifier user (bit 0 clear), enhanced (bit 1); words 1-16: the password.
    assert erase.data_out[:4] == b"\x02\x00pw" and erase.data_out[4:] == bytes(508)
    normal = ata.security_erase_unit(b"pw", enhanced=False, timeout_ms=1000)
    assert normal.data_out[:2] == b"\x00\x00"
    assert ata.security_set_password(b"pw").cdb[14] == 0xF1
    assert ata.security_disable_password(b"pw").cdb[14] == 0xF6
    with pytest.raises(ValueError):
        ata.security_set_password(b"x" * 33)


def test_ata_sanitize_cdbs_carry_their_signatures() -> None:
    # LBA bytes in CDB order: 31:24, 7:0, 39:32, 15:8, 47:40, 23:16.
    assert ata.sanitize_crypto_scramble().cdb == _hex(
        "85 07 20 00 11 00 00 43 70 00 79 00 72 40 b4 00"
    )
    assert ata.sanitize_block_erase().cdb == _hex("85 07 20 00 12 00 00 42 72 00 45 00 6b 40 b4 00")
    assert ata.sanitize_overwrite(0, 1).cdb == _hex(
        "85 07 20 00 14 00 01 00 00 57 00 4f 00 40 b4 00"
    )
    inverted = ata.sanitize_overwrite(0xA5A5A5A5, 16, invert=True).cdb
    assert inverted[6] == 0x80 and inverted[7:13] == _hex("a5 a5 57 a5 4f a5")
    assert ata.sanitize_status().cdb == _hex("85 07 20 00 00 00 00 00 00 00 00 00 00 40 b4 00")


def test_ata_smart_native_max_and_dco_cdbs() -> None:
    assert ata.smart_read_data().cdb == _hex("85 08 0e 00 d0 00 01 00 00 00 4f 00 c2 40 b0 00")
    assert ata.smart_return_status().cdb == _hex("85 06 20 00 da 00 00 00 00 00 4f 00 c2 40 b0 00")
    assert ata.read_native_max_ext().cdb == _hex("85 07 20 00 00 00 00 00 00 00 00 00 00 40 27 00")
    assert ata.set_max_ext(0x3A385DAF).cdb == _hex(
        "85 07 20 00 00 00 00 3a af 00 5d 00 38 40 37 00"
    )
    assert ata.set_max_ext(0x3A385DAF, volatile=False).cdb[6] == 0x01
    assert ata.dco_identify().cdb == _hex("85 08 0e 00 c2 00 01 00 00 00 00 00 00 40 b1 00")


def test_ata_sanitize_status_registers() -> None:
    from expunge.drives.identify.scsi import AtaReturn

    running = ata.parse_sanitize_status(AtaReturn(True, 0, 0x4000, 0x8000, 0x40, 0x50))
    assert running.in_progress and running.progress == 0.5 and not running.completed_without_error
    done = ata.parse_sanitize_status(AtaReturn(True, 0, 0x8000, 0xFFFF, 0x40, 0x50))
    assert done.completed_without_error and not done.in_progress
    assert ata.parse_sanitize_status(AtaReturn(True, 0, 0x2000, 0, 0x40, 0x50)).frozen


def test_scsi_cdbs() -> None:
    crypto = scsi.sanitize(scsi.SanitizeServiceAction.CRYPTOGRAPHIC_ERASE)
    assert crypto.cdb == _hex("48 83 00 00 00 00 00 00 00 00") and crypto.data_out == b""
    block = scsi.sanitize(scsi.SanitizeServiceAction.BLOCK_ERASE, allow_unrestricted_exit=True)
    assert block.cdb == _hex("48 a2 00 00 00 00 00 00 00 00")
    overwrite = scsi.sanitize(scsi.SanitizeServiceAction.OVERWRITE, pattern=bytes(4), passes=1)
    assert overwrite.cdb == _hex("48 81 00 00 00 00 00 00 08 00")
    assert overwrite.data_out == _hex("01 00 00 04 00 00 00 00")
    assert scsi.inquiry_vpd(0x89).cdb == _hex("12 01 89 04 00 00")
    assert scsi.report_supported_opcodes().cdb == _hex("a3 0c 00 00 00 00 00 00 20 00 00 00")
    assert scsi.request_sense().cdb == _hex("03 01 00 00 fc 00")


def test_block_range_requests() -> None:
    command = blk.discard(4096, 1 << 20)
    assert command.request == 0x1277 and command.pack() == struct.pack("=QQ", 4096, 1 << 20)
    assert blk.secure_discard(0, 512).request == 0x127D
    assert blk.zero_out(0, 512).request == 0x127F
