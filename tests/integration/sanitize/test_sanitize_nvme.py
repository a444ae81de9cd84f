"""NVMe Sanitize and Format NVM, end to end on a real loop device through the test double:
identify, the choice of operation, polling with progress, the before/after read-back and
the certificate's category, and every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from expunge.certificates import Category, Outcome
from expunge.core.errors import RefusedError
from expunge.core.progress import StopRequest
from expunge.drives.sanitize import NvmeAdminCommand
from tests.support import run_cli
from tests.support.drives import Loops
from tests.support.drivewipe import CANARY, MIB, canary_image, certificate, digest, needs_root
from tests.support.sanitize_doubles import NvmeDriveTestDouble
from tests.support.sanitizeflow import RecordingProgress, open_as, wipe

pytestmark = [needs_root, pytest.mark.root]
SIZE = 8 * MIB


@pytest.fixture
def nvme_loop(tmp_path: Path, loops: Loops) -> tuple[str, Path]:
    image = tmp_path / "nvme.img"
    canary_image(image, SIZE)
    return loops.attach(image), image


def _sent(double: NvmeDriveTestDouble, opcode: int) -> list[NvmeAdminCommand]:
    return [c for c in double.sent if isinstance(c, NvmeAdminCommand) and c.opcode == opcode]


def test_crypto_erase_is_polled_read_back_and_certified_purge(
    nvme_loop: tuple[str, Path], tmp_path: Path
) -> None:
    node, image = nvme_loop
    device = open_as(node, tmp_path / "home", "nvme")
    double = NvmeDriveTestDouble(device.fd, SIZE, polls=4)
    progress = RecordingProgress()
    result = wipe(device, "sanitize", tmp_path / "home", double, progress=progress)

    # PM1733 reports crypto and block erase: "sanitize" chooses the crypto erase.
    (command,) = _sent(double, 0x84)
    assert command.cdw10 & 0x7 == 0b100
    assert len(_sent(double, 0x02)) >= 4  # the sanitize log, polled to the end
    assert progress.advanced("sanitize") == 1 << 16
    assert image.read_bytes().count(CANARY) == 0
    work = result.sanitize
    assert work is not None and work.completed and work.confirmed
    assert work.check is not None and work.check.changed == work.check.samples_read > 0
    assert result.status == Outcome.SUCCESS and result.certificate is not None
    cert = certificate(result.certificate.path)
    assert cert.sanitization.category is Category.PURGE
    record = cert.subjects[0]
    assert record.device_command is not None and record.device_command.completed
    assert record.verifications[0].mode == "quick-before-after"
    # The drive's health (its SMART / Health log) is recorded with it.
    assert record.subject.health is not None  # type: ignore[union-attr]
    assert record.subject.health.power_on_hours == 408  # type: ignore[union-attr]
    assert run_cli("cert", "verify", result.certificate.path, home=tmp_path / "home").code == 0


def test_a_drive_that_reports_success_without_erasing_is_caught(
    nvme_loop: tuple[str, Path], tmp_path: Path
) -> None:
    node, image = nvme_loop
    before = digest(image)
    device = open_as(node, tmp_path / "home", "nvme")
    result = wipe(
        device, "sanitize:block", tmp_path / "home", NvmeDriveTestDouble(device.fd, SIZE, lies=True)
    )
    assert digest(image) == before
    work = result.sanitize
    assert work is not None and work.completed and not work.confirmed
    assert work.check is not None and work.check.unchanged == work.check.samples_read
    assert result.status == Outcome.FAILED and result.verification_failed
    assert result.certificate is not None
    cert = certificate(result.certificate.path)
    assert cert.outcome is Outcome.FAILED and cert.sanitization.category is Category.CLEAR
    assert "contradicts the drive" in cert.sanitization.category_reason


def test_sanitize_that_the_drive_reports_failed(
    nvme_loop: tuple[str, Path], tmp_path: Path
) -> None:
    node, _ = nvme_loop
    device = open_as(node, tmp_path / "home", "nvme")
    result = wipe(
        device, "sanitize", tmp_path / "home", NvmeDriveTestDouble(device.fd, SIZE, fails=True)
    )
    assert result.sanitize is not None and not result.sanitize.completed
    assert "failed" in result.sanitize.report
    assert result.status == Outcome.FAILED and result.certificate is not None
    assert certificate(result.certificate.path).outcome is Outcome.FAILED


def test_other_namespaces_are_not_erased_unasked(
    nvme_loop: tuple[str, Path], tmp_path: Path
) -> None:
    node, image = nvme_loop
    before = digest(image)
    device = open_as(node, tmp_path / "home", "nvme")
    double = NvmeDriveTestDouble(device.fd, SIZE, namespaces=(1, 2))
    result = wipe(device, "sanitize", tmp_path / "home", double)
    assert result.refused and result.certificate is None
    assert isinstance(result.problem, RefusedError)
    assert "namespaces 2" in result.problem.message and "detach" in (result.problem.remedy or "")
    assert not _sent(double, 0x84) and digest(image) == before


def test_an_action_the_controller_lacks_is_refused_naming_what_it_has(
    nvme_loop: tuple[str, Path], tmp_path: Path
) -> None:
    node, image = nvme_loop
    before = digest(image)
    device = open_as(node, tmp_path / "home", "nvme")
    result = wipe(
        device, "sanitize:overwrite", tmp_path / "home", NvmeDriveTestDouble(device.fd, SIZE)
    )
    assert result.refused
    text = result.problem.diagnostics() if result.problem else ""
    assert "does not support -m sanitize:overwrite" in text
    assert "nvme-sanitize-crypto" in text and "nothing was erased" in text
    assert digest(image) == before


def test_overwrite_is_checked_against_the_pattern(
    nvme_loop: tuple[str, Path], tmp_path: Path
) -> None:
    node, image = nvme_loop
    device = open_as(node, tmp_path / "home", "nvme")
    double = NvmeDriveTestDouble(device.fd, SIZE, sanicap=0x4)
    result = wipe(device, "sanitize:overwrite", tmp_path / "home", double)
    (command,) = _sent(double, 0x84)
    assert command.cdw10 & 0xF7 == 0b011 | 1 << 4 and command.cdw11 == 0
    assert image.read_bytes() == bytes(SIZE)
    assert result.sanitize is not None and result.sanitize.check is not None
    assert result.sanitize.check.expected == "00" and result.sanitize.check.unexpected == 0
    assert result.status == Outcome.SUCCESS


def test_secure_erase_is_a_cryptographic_format_of_the_namespace(
    nvme_loop: tuple[str, Path], tmp_path: Path
) -> None:
    node, image = nvme_loop
    device = open_as(node, tmp_path / "home", "nvme")
    double = NvmeDriveTestDouble(device.fd, SIZE)
    result = wipe(device, "secure-erase", tmp_path / "home", double)
    (command,) = _sent(double, 0x80)
    # FNA bit 2 of the PM1733: Format NVM can crypto-erase (SES 010b); LBA format 1 kept.
    assert command.nsid == 1 and command.cdw10 == 0x1 | 0b010 << 9
    assert image.read_bytes().count(CANARY) == 0
    assert result.certificate is not None
    assert certificate(result.certificate.path).sanitization.category is Category.PURGE


def test_a_blank_drive_cannot_confirm_the_erase_so_no_purge_is_claimed(
    tmp_path: Path, loops: Loops
) -> None:
    image = tmp_path / "blank.img"
    image.write_bytes(bytes(SIZE))
    device = open_as(loops.attach(image), tmp_path / "home", "nvme")
    # Block erase of a blank drive: zeros before, zeros after.
    result = wipe(device, "sanitize:block", tmp_path / "home", NvmeDriveTestDouble(device.fd, SIZE))
    assert result.sanitize is not None and result.sanitize.check is not None
    assert result.sanitize.check.status == "inconclusive"
    assert result.status == Outcome.SUCCESS and result.certificate is not None
    cert = certificate(result.certificate.path)
    assert cert.sanitization.category is Category.CLEAR
    assert "cannot confirm" in cert.sanitization.category_reason


def test_stopping_while_the_drive_works_certifies_an_interruption(
    nvme_loop: tuple[str, Path], tmp_path: Path
) -> None:
    node, _ = nvme_loop
    device = open_as(node, tmp_path / "home", "nvme")
    stop = StopRequest()

    class StopWhilePolling(NvmeDriveTestDouble):
        def _get_log(self, command: NvmeAdminCommand):  # type: ignore[no-untyped-def]
            if self._running is not None:
                stop.request("SIGINT")
            return super()._get_log(command)

    result = wipe(
        device,
        "sanitize",
        tmp_path / "home",
        StopWhilePolling(device.fd, SIZE, polls=50),
        stop=stop,
    )
    assert result.status == Outcome.INTERRUPTED
    assert result.sanitize is not None and "goes on with the operation" in result.sanitize.report
    assert result.certificate is not None
    assert certificate(result.certificate.path).interrupted_by == "SIGINT"
