"""SCSI VPD pages, supported operation codes and sense data (sg3_utils samples)."""

from __future__ import annotations

import pytest

from expunge.core.errors import TargetError
from expunge.drives.identify.ata import parse_identify
from expunge.drives.identify.scsi import (
    SANITIZE_OPCODE,
    logical_unit_wwn,
    parse_ata_information,
    parse_device_identification,
    parse_sense,
    parse_supported_opcodes,
)
from tests.support.drive_samples import identify, scsi_hex


def test_device_identification_of_a_seagate_sas_drive() -> None:
    designators = parse_device_identification(scsi_hex("vpd_dev_id"))
    assert logical_unit_wwn(designators) == "0x5000c5003011cb2b"
    names = [d.text for d in designators if d.kind == 8]
    assert names == ["naa.5000C5003011CB28"]


def test_wrong_page_is_refused() -> None:
    with pytest.raises(TargetError, match="0x80"):
        parse_device_identification(scsi_hex("vpd_dev_id").replace(b"\x00\x83", b"\x00\x80", 1))


def test_supported_opcodes_list_lacks_sanitize() -> None:
    codes = parse_supported_opcodes(scsi_hex("opcodes"))
    assert (0x12, 0) in codes and (0x28, 0) in codes  # INQUIRY, READ(10)
    assert (0x9E, 0x10) in codes  # READ CAPACITY(16), a service action
    assert not any(op == SANITIZE_OPCODE for op, _ in codes)


def test_supported_opcodes_with_sanitize_service_actions() -> None:
    descriptors = b"".join(bytes([0x48, 0, 0, sa, 0, 1, 0, 10]) for sa in (1, 2, 3, 0x1F))
    answer = len(descriptors).to_bytes(4, "big") + descriptors
    codes = parse_supported_opcodes(answer)
    assert {(0x48, 1), (0x48, 2), (0x48, 3), (0x48, 0x1F)} == codes


def test_descriptor_sense_with_a_sense_key_specific_field() -> None:
    sense = parse_sense(scsi_hex("descriptor_sense"))
    assert sense is not None
    assert (sense.key, sense.asc, sense.ascq) == (0x1, 0x03, 0x02)
    # The file's "another progress report indicator" descriptor (0Ah) comes last: 0x3201.
    assert sense.progress == 0x3201 / 65536


def test_fixed_sense() -> None:
    sense = parse_sense(scsi_hex("fixed_sense"))
    assert sense is not None and (sense.key, sense.asc, sense.ascq) == (0x3, 0x11, 0x00)
    assert sense.progress is None  # medium error: the field is not a progress indication


def test_sanitize_in_progress_sense_carries_progress() -> None:
    fixed = bytes([0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04, 0x1B, 0, 0x80, 0x80, 0x00])
    sense = parse_sense(fixed)
    assert sense is not None and sense.sanitize_in_progress and sense.progress == 0.5


def test_ata_status_return_descriptor() -> None:
    # As libata returns it for READ NATIVE MAX ADDRESS EXT: LBA 3A385DAFh, status 50h.
    descriptor = bytes(
        [0x09, 0x0C, 0x01, 0x00, 0, 0, 0x3A, 0xAF, 0x00, 0x5D, 0x00, 0x38, 0x40, 0x50]
    )
    sense = parse_sense(bytes([0x72, 0x01, 0x00, 0x1D, 0, 0, 0, len(descriptor)]) + descriptor)
    assert sense is not None and sense.ata is not None
    assert sense.ata.lba == 0x3A385DAF and sense.ata.status == 0x50 and not sense.ata.failed
    aborted = descriptor[:3] + b"\x04" + descriptor[4:13] + b"\x51"
    sense = parse_sense(bytes([0x72, 0x01, 0x00, 0x1D, 0, 0, 0, 14]) + aborted)
    assert sense is not None and sense.ata is not None and sense.ata.aborted


def test_no_sense_data() -> None:
    assert parse_sense(b"") is None and parse_sense(bytes(18)) is None


def test_ata_information_page_carries_the_drive_identify() -> None:
    # VPD 89h as SAT-4 lays it out, around the real Intel IDENTIFY data.
    page = bytearray(572)
    page[1], page[2:4] = 0x89, (572 - 4).to_bytes(2, "big")
    page[8:16], page[16:32], page[32:36] = b"linux   ", b"libata".ljust(16), b"3.00"
    page[56] = 0xEC
    page[60:572] = identify("INTEL_SSDSA2CW120G3--4PC10302")
    info = parse_ata_information(bytes(page))
    assert (info.sat_vendor, info.sat_product) == ("linux", "libata")
    assert parse_identify(info.identify).model == "INTEL SSDSA2CW120G3"
