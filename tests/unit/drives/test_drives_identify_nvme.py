"""NVMe Identify and log pages captured from real controllers (ecclesia samples)."""

from __future__ import annotations

import struct

import pytest

from expunge.core.errors import TargetError
from expunge.drives.identify.health import nvme_health
from expunge.drives.identify.nvme import (
    SanitizeState,
    parse_active_namespaces,
    parse_controller,
    parse_namespace,
    parse_sanitize_log,
    parse_smart_log,
)
from tests.support.drive_samples import nvme


def test_pm1733_controller_identity_and_sanitize_capabilities() -> None:
    ctrl = parse_controller(nvme("pm1733-id-ctrl"))
    assert ctrl.vendor_id == 0x144D and ctrl.serial == "S5L0NYZM9A0014"
    assert ctrl.model == "ABCDEFGHIJKL-000GG" and ctrl.firmware == "MPKD0P21"
    assert ctrl.version == "1.3.0" and ctrl.namespaces == 8
    assert ctrl.total_capacity == 3840755982336
    # SANICAP 3: crypto erase and block erase, no overwrite.
    san = ctrl.sanitize
    assert (san.crypto_erase, san.block_erase, san.overwrite) == (True, True, False)
    # OACS bit 1 and FNA 4: Format NVM, per namespace, able to crypto-erase.
    assert ctrl.format_nvm and ctrl.format_crypto_erase
    assert not ctrl.format_all_namespaces and not ctrl.secure_erase_all_namespaces


def test_namespace_size_and_current_lba_format() -> None:
    ns = parse_namespace(nvme("id-ns"))
    assert ns.size_blocks == 0x40000 and ns.block_size == 4096
    assert ns.size_bytes == 0x40000 * 4096
    assert [f.lbads for f in ns.formats] == [9, 12] and ns.format_index == 1
    assert ns.deallocated_reads == "unknown"


def test_namespace_naming_a_format_it_does_not_have_is_refused() -> None:
    data = bytearray(nvme("id-ns"))
    data[26] = 0x05  # FLBAS pointing past NLBAF
    with pytest.raises(TargetError, match="LBA format 5"):
        parse_namespace(bytes(data))


def test_sanitize_logs_after_block_and_crypto_erase() -> None:
    block = parse_sanitize_log(nvme("sanitize-log-block-erase"))
    assert block.state is SanitizeState.SUCCEEDED and block.succeeded and not block.running
    assert block.global_data_erased and block.action == 0b010
    assert block.estimated_seconds == {"overwrite": None, "block_erase": None, "crypto_erase": None}
    crypto = parse_sanitize_log(nvme("sanitize-log-crypto-erase"))
    assert crypto.action == 0b100 and crypto.succeeded


def test_sanitize_log_in_progress_reports_its_fraction() -> None:
    data = bytearray(nvme("sanitize-log-crypto-erase"))
    data[0:4] = struct.pack("<HH", 0x4000, 0x0002)  # SPROG 1/4, SSTAT in progress
    status = parse_sanitize_log(bytes(data))
    assert status.running and status.progress == 0.25 and not status.succeeded
    data[2] = 0x03
    assert parse_sanitize_log(bytes(data)).state is SanitizeState.FAILED
    data[2] = 0x07
    with pytest.raises(TargetError, match="not defined"):
        parse_sanitize_log(bytes(data))


def test_smart_log_and_the_health_it_gives() -> None:
    log = parse_smart_log(nvme("smart-log"))
    assert log.temperature_kelvin == 314 and log.available_spare == 98
    assert log.power_cycles == 4 and log.power_on_hours == 408 and log.unsafe_shutdowns == 1
    health = nvme_health(log)
    assert health.smart_passed and health.temperature_c == 41 and health.media_errors == 0
    warned = bytearray(nvme("smart-log"))
    warned[0] = 0x04  # critical warning: reliability degraded
    assert nvme_health(parse_smart_log(bytes(warned))).smart_passed is False


def test_active_namespace_list() -> None:
    data = struct.pack("<4I", 1, 2, 8, 0) + bytes(4096 - 16)
    assert parse_active_namespaces(data) == (1, 2, 8)
    assert parse_active_namespaces(bytes(4096)) == ()


def test_short_structures_are_refused() -> None:
    with pytest.raises(TargetError):
        parse_controller(nvme("pm1733-id-ctrl")[:1000])
    with pytest.raises(TargetError):
        parse_smart_log(b"\0" * 100)
