"""Which operation a method becomes on a drive, from the drive's own answers: pure rules,
tried against every state that must refuse."""

from __future__ import annotations

from dataclasses import replace

import pytest

from expunge.core.errors import RefusedError
from expunge.drives.identify import DriveProfile
from expunge.drives.identify import profile as ops
from expunge.drives.identify.ata import AtaSecurity, parse_identify
from expunge.workflows.sanitize import choose_operation
from tests.support.drive_samples import identify
from tests.support.drives import make_drive

NVME = make_drive(node="/dev/nvme0n1", bus="nvme", removable=False)
SATA = make_drive(node="/dev/sda", bus="ata", removable=False, rotational=True)
INTEL = parse_identify(identify("INTEL_SSDSA2CW120G3--4PC10302")).security


def _unfrozen(security: AtaSecurity) -> AtaSecurity:
    return replace(security, frozen=False, enabled=False)


def test_sanitize_prefers_the_crypto_erase() -> None:
    profile = DriveProfile(
        "nvme",
        (ops.NVME_SANITIZE_OVERWRITE, ops.NVME_SANITIZE_BLOCK, ops.NVME_SANITIZE_CRYPTO),
        namespaces=(1,),
        namespace_id=1,
    )
    assert choose_operation("sanitize", NVME, profile).operation == ops.NVME_SANITIZE_CRYPTO
    chosen = choose_operation("sanitize:block", NVME, profile)
    assert chosen.operation == ops.NVME_SANITIZE_BLOCK and chosen.expected is None
    zeros = DriveProfile("nvme", (ops.NVME_SANITIZE_BLOCK,), deallocated_reads="zeros")
    assert choose_operation("sanitize:block", NVME, zeros).expected is not None


def test_format_that_erases_every_namespace_is_refused_with_several() -> None:
    profile = DriveProfile(
        "nvme",
        (ops.NVME_FORMAT_USER_DATA,),
        namespaces=(1, 3),
        namespace_id=1,
        format_erases_all_namespaces=True,
    )
    with pytest.raises(RefusedError, match="namespaces 3"):
        choose_operation("secure-erase", NVME, profile)
    alone = DriveProfile("nvme", (ops.NVME_FORMAT_USER_DATA,), namespaces=(1, 3), namespace_id=1)
    assert choose_operation("secure-erase", NVME, alone).operation == ops.NVME_FORMAT_USER_DATA


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"frozen": True}, "frozen"),
        ({"locked": True}, "locked"),
        ({"enabled": True}, "password is already set"),
        ({"count_expired": True}, "password attempts"),
    ],
)
def test_security_states_that_refuse_an_erase(changes: dict[str, bool], words: str) -> None:
    security = replace(_unfrozen(INTEL), **changes)
    profile = DriveProfile("ata", (ops.ATA_SECURITY_ERASE,), security=security)
    with pytest.raises(RefusedError, match=words):
        choose_operation("secure-erase", SATA, profile)


def test_the_real_intel_ssd_is_refused_because_it_is_frozen() -> None:
    profile = DriveProfile("ata", (ops.ATA_SECURITY_ERASE_ENHANCED,), security=INTEL)
    with pytest.raises(RefusedError, match="frozen") as refused:
        choose_operation("secure-erase", SATA, profile)
    assert "suspend" in (refused.value.remedy or "")


def test_security_erase_is_purge_on_disks_and_clear_on_flash() -> None:
    profile = DriveProfile("ata", (ops.ATA_SECURITY_ERASE,), security=_unfrozen(INTEL))
    assert choose_operation("secure-erase", SATA, profile).purge
    flash = make_drive(node="/dev/sda", bus="ata", removable=False, rotational=False)
    assert not choose_operation("secure-erase", flash, profile).purge


def test_discard_is_never_purge_and_needs_discard_support() -> None:
    chosen = choose_operation("discard", SATA, DriveProfile("block", (ops.DISCARD,)))
    assert not chosen.purge and chosen.expected is not None
    with pytest.raises(RefusedError, match="does not support discard"):
        choose_operation("discard", SATA, DriveProfile("block"))


def test_an_unsupported_method_names_what_the_drive_has() -> None:
    profile = DriveProfile("scsi", (ops.SCSI_SANITIZE_BLOCK,))
    with pytest.raises(RefusedError, match="it reports scsi-sanitize-block"):
        choose_operation("sanitize:crypto", make_drive(bus="scsi"), profile)
