"""``expunge fill`` on real filesystem images: canaries of files removed with plain ``rm``
are found by a raw scan before (the control), and none after; on FAT32 none of the deleted
long names either. Copy-on-write is refused."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from expunge.certificates.drive_facts import FreeSpaceSubject
from tests.support import MountedImage, mounted_image, needs_root, run_cli, unmount
from tests.support.drivewipe import certificate
from tests.support.fill import (
    canary,
    counts,
    fat32_image,
    long_name,
    unmount_fuse,
    utf16,
    write_and_remove,
)

pytestmark = [needs_root, pytest.mark.root]


def _reserved_clusters(image: MountedImage) -> str:
    mounts = [line.split() for line in Path("/proc/self/mounts").read_text().splitlines()]
    source = next(fields[0] for fields in mounts if fields[1] == str(image.mount))
    name = Path(os.path.realpath(source)).name
    return Path(f"/sys/fs/ext4/{name}/reserved_clusters").read_text().strip()


def test_ext4_free_space_holds_no_canary_after_fill(tmp_path: Path) -> None:
    with mounted_image(tmp_path, "ext4", 32 << 20) as image:
        markers = {f"doc{i}.bin": canary(f"ext4-{i}") for i in range(4)}
        markers["deep/er/notes.txt"] = canary("ext4-nested")
        keep = canary("ext4-kept")
        (image.mount / "kept.txt").write_bytes(keep * 100)
        write_and_remove(image.mount, markers, 1 << 20)
        reserve = _reserved_clusters(image)
        before = counts(image.image, [*markers.values(), keep])
        assert all(before.values()), "plain rm leaves the data: the scan must find it"

        done = run_cli("fill", image.mount, "--json", home=tmp_path / "home")
        assert done.code == 0, done
        report = json.loads(done.out)
        assert report["status"] == "success" and report["removed"]
        assert sorted(p.name for p in image.mount.iterdir()) == ["deep", "kept.txt", "lost+found"]
        assert _reserved_clusters(image) == reserve  # released for the fill, then restored
        unmount(image)
        after = counts(image.image, [*markers.values(), keep])
        assert after.pop(keep) == 100  # files in use are not touched
        assert after == {m: 0 for m in after}, after

    cert = certificate(Path(report["certificate"]))
    subject = cert.subjects[0].subject
    assert isinstance(subject, FreeSpaceSubject)
    assert subject.size == report["bytes_overwritten"] > 20 << 20
    assert subject.mountpoint == str(image.mount) and subject.directory_entries is None
    codes = {lim.code for lim in cert.limitations}
    assert {"file-slack", "journal", "deleted-names"} <= codes
    assert "reserved-clusters" not in codes and "fill-metadata" not in codes
    assert run_cli("cert", "verify", report["certificate"], home=tmp_path / "home").code == 0


def test_fat32_content_and_deleted_long_names_are_gone(tmp_path: Path) -> None:
    with fat32_image(tmp_path) as image:
        names = {long_name(f"n{i}"): canary(f"fat-{i}") for i in range(6)}
        files = {
            (f"Reports/2024/{name}" if i % 2 else name): marker
            for i, (name, marker) in enumerate(names.items())
        }
        keep = canary("fat-kept")
        (image.mount / "keep.txt").write_bytes(keep * 50)
        write_and_remove(image.mount, files, 200_000)
        unmount_fuse(image.mount)
        needles = [*names.values(), *(utf16(n) for n in names), keep]
        before = counts(image.image, needles)
        assert all(before.values()), before  # content and names survive plain rm
        subprocess.run(["fusefat", "-o", "rw+", str(image.image), str(image.mount)], check=True)

        done = run_cli("fill", image.mount, "--json", home=tmp_path / "home")
        assert done.code == 0, done
        report = json.loads(done.out)
        assert report["directory_entries_refilled"] > 0 and report["filesystem"] == "vfat"
        unmount_fuse(image.mount)
        after = counts(image.image, needles)
        assert after.pop(keep) == 50
        assert after == {n: 0 for n in after}, after


def test_btrfs_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with mounted_image(tmp_path, "btrfs", 128 << 20) as image:
        done = run_cli("fill", image.mount, home=tmp_path / "home")
        assert done.code == 3, done
        assert "copy-on-write" in done.err and "Traceback" not in done.err
        assert list(image.mount.iterdir()) == []


def test_a_directory_that_is_not_a_mount_point_is_refused(tmp_path: Path) -> None:
    done = run_cli("fill", tmp_path, home=tmp_path / "home")
    assert done.code == 4 and "is not the mount point of a filesystem" in done.err
