"""ATA SECURITY ERASE UNIT and SANITIZE through SAT, on a real loop device answered by the
ATA test double with real drives' IDENTIFY data (libatasmart samples)."""

from __future__ import annotations

from pathlib import Path

import pytest

from expunge.certificates import Category, Outcome
from expunge.drives.sanitize import ScsiCommand
from tests.support.drive_samples import identify, with_words, word
from tests.support.drives import Loops
from tests.support.drivewipe import CANARY, MIB, canary_image, certificate, digest, needs_root
from tests.support.sanitize_doubles import AtaDriveTestDouble
from tests.support.sanitizeflow import open_as, wipe

pytestmark = [needs_root, pytest.mark.root]
SIZE = 8 * MIB
INTEL = identify("INTEL_SSDSA2CW120G3--4PC10302")
WDC = identify("WDC_WD5000AAKS--00TMA0-12.01C01")


@pytest.fixture
def loop(tmp_path: Path, loops: Loops) -> tuple[str, Path]:
    image = tmp_path / "ata.img"
    canary_image(image, SIZE)
    return loops.attach(image), image


def _ata_ops(double: AtaDriveTestDouble) -> list[tuple[int, int]]:
    """(command, features) of every ATA command sent."""
    return [
        (c.cdb[14], c.cdb[3] << 8 | c.cdb[4])
        for c in double.sent
        if isinstance(c, ScsiCommand) and c.cdb[0] == 0x85
    ]


def test_the_frozen_intel_ssd_is_refused_with_the_remedy(
    loop: tuple[str, Path], tmp_path: Path
) -> None:
    node, image = loop
    before = digest(image)
    device = open_as(node, tmp_path / "home", "ata", rotational=False)
    double = AtaDriveTestDouble(device.fd, SIZE, INTEL)
    result = wipe(device, "secure-erase", tmp_path / "home", double)
    assert result.refused and result.certificate is None and result.problem is not None
    assert "frozen" in result.problem.message and "suspend" in (result.problem.remedy or "")
    assert not any(op in (0xF1, 0xF3, 0xF4) for op, _ in _ata_ops(double))
    assert digest(image) == before


def test_security_erase_of_a_hard_disk_is_purge(loop: tuple[str, Path], tmp_path: Path) -> None:
    node, image = loop
    device = open_as(node, tmp_path / "home", "ata", rotational=True)
    double = AtaDriveTestDouble(device.fd, SIZE, WDC)
    result = wipe(device, "secure-erase", tmp_path / "home", double)
    security = [op for op, _ in _ata_ops(double) if op in (0xF1, 0xF3, 0xF4, 0xF6)]
    assert security == [0xF1, 0xF3, 0xF4]  # set password, prepare, erase: nothing after
    assert double.password is None  # the erase cleared it: the drive will not come up locked
    assert image.read_bytes() == bytes(SIZE)
    assert result.status == Outcome.SUCCESS and result.certificate is not None
    cert = certificate(result.certificate.path)
    assert cert.sanitization.category is Category.PURGE
    assert cert.subjects[0].device_command is not None
    assert "SECURITY ERASE UNIT (normal)" in cert.subjects[0].device_command.command
    # Health from the drive's own SMART data: the sample's worn sectors are recorded.
    health = cert.subjects[0].subject.health  # type: ignore[union-attr]
    assert health is not None and health.pending_sectors == 529
    assert health.reallocated_sectors == 63


def test_a_failed_erase_removes_the_password_it_set(loop: tuple[str, Path], tmp_path: Path) -> None:
    node, _ = loop
    device = open_as(node, tmp_path / "home", "ata", rotational=True)

    class EraseAborts(AtaDriveTestDouble):
        def _security(self, op: int, data: bytes):  # type: ignore[no-untyped-def]
            return self._abort() if op == 0xF4 else super()._security(op, data)

    double = EraseAborts(device.fd, SIZE, WDC)
    result = wipe(device, "secure-erase", tmp_path / "home", double)
    assert [op for op, _ in _ata_ops(double) if op >= 0xF1] == [0xF1, 0xF3, 0xF4, 0xF6]
    assert double.password is None
    assert result.sanitize is not None and not result.sanitize.completed
    assert "password was removed" in result.sanitize.report
    assert result.status == Outcome.FAILED


def test_a_drive_with_a_password_already_set_is_refused(
    loop: tuple[str, Path], tmp_path: Path
) -> None:
    node, _ = loop
    device = open_as(node, tmp_path / "home", "ata")
    data = with_words(WDC, w128=0x0003)  # supported, enabled (a user password set)
    result = wipe(
        device, "secure-erase", tmp_path / "home", AtaDriveTestDouble(device.fd, SIZE, data)
    )
    assert result.refused and result.problem is not None
    assert "password is already set" in result.problem.message


def test_security_erase_of_flash_is_clear_only(loop: tuple[str, Path], tmp_path: Path) -> None:
    node, _ = loop
    device = open_as(node, tmp_path / "home", "ata", rotational=False)
    # The Samsung SSD sample, unfrozen: supported, enhanced erase.
    data = identify("SAMSUNG_MMCQE28G8MUP--0VA_VAM08L1Q")
    data = with_words(data, w128=word(data, 128) & ~0x0008)
    double = AtaDriveTestDouble(device.fd, SIZE, data)
    result = wipe(device, "secure-erase", tmp_path / "home", double)
    erase = [
        c
        for c in double.sent
        if isinstance(c, ScsiCommand) and c.cdb[:1] == b"\x85" and c.cdb[14] == 0xF4
    ]
    assert erase and erase[0].data_out[0] & 0x2  # enhanced
    assert result.status == Outcome.SUCCESS and result.certificate is not None
    cert = certificate(result.certificate.path)
    assert cert.sanitization.category is Category.CLEAR
    assert "flash" in cert.sanitization.category_reason


def test_sanitize_crypto_scramble_with_its_signature(
    loop: tuple[str, Path], tmp_path: Path
) -> None:
    node, image = loop
    device = open_as(node, tmp_path / "home", "ata")
    data = with_words(WDC, w59=word(WDC, 59) | 0x3000)  # SANITIZE, CRYPTO SCRAMBLE EXT
    double = AtaDriveTestDouble(device.fd, SIZE, data)
    result = wipe(device, "sanitize", tmp_path / "home", double)
    assert (0xB4, 0x0011) in _ata_ops(double)  # the double checks the "Cryp" signature
    assert _ata_ops(double).count((0xB4, 0x0000)) >= 2  # SANITIZE STATUS EXT polled
    assert image.read_bytes().count(CANARY) == 0
    assert result.status == Outcome.SUCCESS and result.certificate is not None
    assert certificate(result.certificate.path).sanitization.category is Category.PURGE


def test_sanitize_frozen_drive_is_refused(loop: tuple[str, Path], tmp_path: Path) -> None:
    node, image = loop
    before = digest(image)
    device = open_as(node, tmp_path / "home", "ata")
    data = with_words(WDC, w59=word(WDC, 59) | 0xB000)
    double = AtaDriveTestDouble(device.fd, SIZE, data, sanitize_frozen=True)
    result = wipe(device, "sanitize:block", tmp_path / "home", double)
    assert result.refused and result.problem is not None
    assert "Sanitize Frozen" in result.problem.message
    assert "power-cycle" in (result.problem.remedy or "")
    assert (0xB4, 0x0012) not in _ata_ops(double) and digest(image) == before


def test_usb_bridge_without_pass_through_is_refused(loop: tuple[str, Path], tmp_path: Path) -> None:
    node, image = loop
    before = digest(image)
    device = open_as(node, tmp_path / "home", "usb")
    double = AtaDriveTestDouble(device.fd, SIZE, WDC, passes_through=False)
    result = wipe(device, "sanitize", tmp_path / "home", double)
    assert result.refused and result.problem is not None
    assert "bridge" in result.problem.message
    assert "SATA or NVMe port" in (result.problem.remedy or "")
    assert digest(image) == before


def test_a_host_protected_area_is_recorded_in_the_certificate(
    loop: tuple[str, Path], tmp_path: Path
) -> None:
    node, _ = loop
    device = open_as(node, tmp_path / "home", "ata", rotational=True)
    visible = 976773168
    double = AtaDriveTestDouble(device.fd, SIZE, WDC, native=visible + 4096)
    result = wipe(device, "secure-erase", tmp_path / "home", double)
    assert result.certificate is not None
    cert = certificate(result.certificate.path)
    hidden = cert.subjects[0].subject.hidden_areas  # type: ignore[union-attr]
    assert hidden is not None and (hidden.visible, hidden.native) == (visible, visible + 4096)
    assert any(lim.code == "hidden-area-not-read" for lim in cert.limitations)
