"""A small Linux guest under QEMU, with emulated NVMe and SATA drives, that runs expunge.

The guest boots the host's Debian kernel with an initramfs of busybox and the kernel's
own modules (NVMe, AHCI, virtio 9p), mounts the host's root read-only over 9p, and runs a
script in it: the same Python, the same expunge tree, a real kernel issuing real
``NVME_IOCTL_ADMIN_CMD`` and ``SG_IO`` to QEMU's drive models. Each drive is backed by a
file of ours under the test's tmp_path; results come back through a second, writable 9p
share. Nothing on the host is written but those files.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

MODULES = ("virtio_pci", "9pnet_virtio", "9p", "nvme", "ahci", "sd_mod")
GUEST_TIMEOUT_SECONDS = 420

_INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /modules.list); do insmod $m; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro host /host
mount -t proc proc /host/proc; mount -t sysfs sys /host/sys; mount -t devtmpfs dev /host/dev
mount -t tmpfs tmp /host/tmp; mkdir -p /host/tmp/out
mount -t 9p -o trans=virtio,version=9p2000.L out /host/tmp/out
for i in 1 2 3 4 5 6 7 8 9 10; do
    [ -b /host/dev/nvme0n1 ] && [ -b /host/dev/sda ] && break; sleep 1
done
chroot /host /bin/sh /tmp/out/guest.sh > /host/tmp/out/guest.log 2>&1
sync
poweroff -f
"""


@dataclass(frozen=True)
class Kernel:
    """The host's kernel image and the version its modules are installed under."""

    image: Path
    version: str


def find_kernel() -> Kernel:
    """A bootable kernel with its modules, or skip saying what to install."""
    for tool in ("qemu-system-x86_64", "busybox", "modprobe", "cpio"):
        if shutil.which(tool) is None:
            pytest.skip(
                f"{tool} is not installed (.ci/run installs qemu-system-x86, busybox-static)"
            )
    for image in sorted(Path("/boot").glob("vmlinuz-*"), reverse=True):
        version = image.name.removeprefix("vmlinuz-")
        if (Path("/lib/modules") / version).is_dir():
            return Kernel(image, version)
    pytest.skip("no kernel with modules in /boot (.ci/run installs linux-image-amd64)")


def build_initramfs(folder: Path, kernel: Kernel) -> Path:
    """busybox, the modules (in dependency order) and the init script, as a gzip cpio."""
    root = folder / "initramfs"
    for sub in ("bin", "proc", "sys", "dev", "host", "mods"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy(shutil.which("busybox") or "", root / "bin" / "busybox")
    ordered: list[str] = []
    for module in MODULES:
        plan = subprocess.run(
            ["modprobe", "-S", kernel.version, "-D", module],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        for line in plan.splitlines():
            if line.startswith("insmod ") and line.split()[1] not in ordered:
                ordered.append(line.split()[1])
    for path in ordered:
        shutil.copy(path, root / "mods" / Path(path).name)
    (root / "modules.list").write_text("".join(f"/mods/{Path(p).name}\n" for p in ordered))
    (root / "init").write_text(_INIT)
    (root / "init").chmod(0o755)
    listing = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    archive = subprocess.run(
        ["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=listing, capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    out = folder / "initrd.gz"
    out.write_bytes(gzip.compress(archive, compresslevel=1))
    return out


def guest_python() -> tuple[str, str]:
    """The interpreter running the tests and the source tree: the guest runs the same."""
    return sys.executable, str(Path(__file__).resolve().parents[2])


def run_guest(folder: Path, script: str, nvme_image: Path, ata_image: Path) -> Path:
    """Boot the guest with an NVMe drive (serial EXPUNGE-NVME-1) and a SATA disk (serial
    EXPUNGE-ATA-1) over the two images, run ``script`` as root in it; its output folder."""
    kernel = find_kernel()
    initrd = build_initramfs(folder, kernel)
    out = folder / "out"
    out.mkdir()
    (out / "guest.sh").write_text(script)
    # No KVM in these CI machines' guests: TCG emulation boots in about 20 s.
    accel = ["-accel", "kvm"] if os.environ.get("EXPUNGE_QEMU_KVM") else ["-accel", "tcg"]
    command = [
        "qemu-system-x86_64", *accel, "-cpu", "max", "-m", "1024", "-smp", "1",
        "-nographic", "-no-reboot", "-kernel", str(kernel.image), "-initrd", str(initrd),
        "-append", "console=ttyS0 panic=-1 loglevel=1",
        "-virtfs", "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap",
        "-virtfs", f"local,path={out},mount_tag=out,security_model=none",
        "-drive", f"file={nvme_image},if=none,id=nvm,format=raw",
        "-device", "nvme,serial=EXPUNGE-NVME-1,drive=nvm",
        "-device", "ahci,id=ahci",
        "-drive", f"file={ata_image},if=none,id=sata,format=raw",
        "-device", "ide-hd,drive=sata,bus=ahci.0,serial=EXPUNGE-ATA-1",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=GUEST_TIMEOUT_SECONDS, check=False
    )
    if not (out / "guest.log").exists():
        pytest.fail(f"the guest did not run its script: {done.stdout[-2000:]}{done.stderr}")
    return out
