"""End to end in a Linux guest: a real kernel, QEMU's NVMe and SATA drive models, the
real ``NVME_IOCTL_ADMIN_CMD`` and ``SG_IO`` (libata's SAT translation), the command line.

QEMU's NVMe controller implements Format NVM with Secure Erase Settings but not Sanitize;
its IDE disk answers IDENTIFY and SMART but has no security feature set (nor an HPA).
So: ``drive list`` shows both drives' own answers, ``-m sanitize`` and the SATA disk's
``-m secure-erase`` are refused naming what each supports, and ``-m secure-erase`` of
the NVMe drive formats it, reads it back and certifies it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from expunge.certificates import Category, Outcome
from tests.support import needs_root, run_cli
from tests.support.drivewipe import CANARY, MIB, canary_image, certificate, digest, finished
from tests.support.json_output import validate_output
from tests.support.qemu_guest import guest_python, run_guest

pytestmark = [needs_root, pytest.mark.root, pytest.mark.slow]

SCRIPT = """
cd {tree}
export EXPUNGE_HOME=/tmp/home
run() {{ {python} -m expunge "$@"; }}
run drive list --all --json > /tmp/out/list.json
run drive wipe -m sanitize /dev/nvme0n1 --allow-fixed --yes --expect EXPUNGE-NVME-1 \\
    > /tmp/out/sanitize.txt 2>&1; echo $? > /tmp/out/sanitize.rc
run drive wipe -m secure-erase /dev/sda --allow-fixed --yes --expect EXPUNGE-ATA-1 \\
    > /tmp/out/ata.txt 2>&1; echo $? > /tmp/out/ata.rc
run drive wipe -m secure-erase /dev/nvme0n1 --allow-fixed --yes --expect EXPUNGE-NVME-1 \\
    --json > /tmp/out/wipe.json 2> /tmp/out/wipe.err; echo $? > /tmp/out/wipe.rc
cp /tmp/home/certificates/*.cert.json /tmp/home/station.pub /tmp/out/
"""


def test_nvme_format_and_sata_identify_in_a_guest(tmp_path: Path) -> None:
    nvme, sata = tmp_path / "nvme.img", tmp_path / "sata.img"
    canary_image(nvme, 16 * MIB, tag=b"nvme")
    canary_image(sata, 16 * MIB, tag=b"sata")
    sata_before = digest(sata)
    python, tree = guest_python()
    out = run_guest(tmp_path, SCRIPT.format(python=python, tree=tree), nvme, sata)
    log = (out / "guest.log").read_text()

    document = validate_output(json.loads((out / "list.json").read_text()), "drive-list")
    listed = {d["node"]: d for d in document["items"]}
    drive = listed["/dev/nvme0n1"]
    assert drive["bus"] == "nvme" and drive["identity_token"] == "EXPUNGE-NVME-1", log
    profile = drive["profile"]
    assert profile["transport"] == "nvme" and profile["namespaces"] == [1]
    assert "nvme-format-user-data-erase" in profile["operations"]
    assert profile["health"]["source"] == "nvme-health-log"
    disk = listed["/dev/sda"]["profile"]
    assert disk["transport"] == "ata" and disk["model"] == "QEMU HARDDISK", disk
    assert "libata" in disk["bridge"] and disk["serial"] == "EXPUNGE-ATA-1"
    # IDENTIFY through SG_IO, and SMART READ DATA / RETURN STATUS with their registers
    # (CK_COND) read back from libata's ATA Status Return descriptor.
    assert disk["problems"] == [] and disk["hidden_areas"]["visible"] == 16 * MIB // 512
    assert disk["health"]["source"] == "ata-smart" and disk["health"]["smart_passed"] is True
    assert not disk["security"]["supported"]  # QEMU's disk has no security feature set

    assert (out / "sanitize.rc").read_text().strip() == "3"
    assert "it reports nvme-format-user-data-erase" in (out / "sanitize.txt").read_text()
    assert (out / "ata.rc").read_text().strip() == "3"
    assert "reports no sanitize operation" in (out / "ata.txt").read_text()
    assert digest(sata) == sata_before

    assert (out / "wipe.rc").read_text().strip() == "0", (out / "wipe.err").read_text()
    (result,) = finished((out / "wipe.json").read_text())
    work = result["sanitize"]
    assert work["command"] == "NVMe Format NVM, Secure Erase Settings 001b"
    assert work["completed"] and work["confirmed"] and work["check"]["changed"] > 0
    assert nvme.read_bytes().count(CANARY) == 0
    (cert_path,) = out.glob("*.cert.json")
    cert = certificate(cert_path)
    assert cert.outcome is Outcome.SUCCESS and cert.sanitization.category is Category.PURGE
    checked = run_cli(
        "cert", "verify", cert_path, "--trust", out / "station.pub", home=tmp_path / "h"
    )
    assert checked.code == 0, checked
