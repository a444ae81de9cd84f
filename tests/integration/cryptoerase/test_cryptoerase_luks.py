"""LUKS crypto-erase against real cryptsetup, on container files and on loop devices of ours.

The layout parsed from the binary headers must agree with ``cryptsetup luksDump``; after the
erase cryptsetup must no longer see a LUKS volume nor open it with the right key, while a
header backup taken before brings it back (which is why backups have to be destroyed too).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from expunge.core.errors import EXIT_REFUSED, EXIT_TARGET, RefusedError, TargetError
from expunge.shred import luks
from expunge.shred.overwrite import PassOptions, run_passes
from expunge.shred.patterns import PassPattern, expected_bytes
from expunge.shred.report import ByteRange
from tests.support import need_tool
from tests.support.cryptoerase import (
    cryptsetup,
    field,
    key_opens,
    luks1_dump,
    luks2_dump,
    luks_format,
    make_container,
    make_keyfile,
    opened,
    read_range,
    sha256_range,
)


@dataclass(frozen=True)
class Target:
    """A LUKS target of ours: a container file, or a loop device over a file."""

    path: str
    kind: str
    size: int

    @property
    def exclusive(self) -> bool:
        return self.kind == "loop"


@pytest.fixture(params=["file", "loop"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    need_tool("cryptsetup")
    if request.param == "file":
        path = make_container(tmp_path)
        return Target(str(path), "file", path.stat().st_size)
    node, _backing = request.getfixturevalue("loop_device")
    return Target(node, "loop", 64 << 20)


@pytest.fixture
def keyfile(tmp_path: Path) -> Path:
    return make_keyfile(tmp_path)


def erase(target: Target) -> luks.LuksEraseReport:
    """What layer 2 does: open, read the layout, check holders, erase."""
    with opened(target.path, exclusive=target.exclusive) as fd:
        layout = luks.read_layout(fd, name=target.path)
        luks.refuse_if_open(fd, name=target.path)
        return luks.luks_erase(fd, layout)


def layout_of(path: str) -> luks.LuksLayout:
    with opened(path) as fd:
        return luks.read_layout(fd, name=path)


@pytest.mark.parametrize("version", [1, 2])
def test_layout_matches_luksdump(target: Target, keyfile: Path, version: int) -> None:
    luks_format(target.path, keyfile, version)
    layout = layout_of(target.path)
    assert layout.version == version
    assert layout.target_size == target.size
    if version == 1:
        dump = luks1_dump(target.path)
        assert layout.uuid == dump.uuid
        assert layout.data_offset == dump.payload_sectors * 512
        assert [(int(k.slot), k.active) for k in layout.keyslots] == dump.slots
        assert [(k.offset // 512, k.size) for k in layout.keyslots if k.active] == [
            (offset, -(-dump.key_bytes * stripes // 512) * 512) for offset, stripes in dump.material
        ]
        assert layout.header_areas == (ByteRange(0, 592),)
    else:
        metadata, text = luks2_dump(target.path)
        assert {k.slot: (k.offset, k.size) for k in layout.keyslots} == {
            slot: (int(v["area"]["offset"]), int(v["area"]["size"]))
            for slot, v in metadata["keyslots"].items()
        }
        config = metadata["config"]
        hdr_size = int(config["json_size"]) + 4096
        assert int(field(r"Metadata area:\s*(\d+)", text)) == hdr_size
        assert layout.header_areas == (
            ByteRange(0, 4096),
            ByteRange(hdr_size, hdr_size + 4096),
        )
        assert layout.json_areas == (
            ByteRange(4096, hdr_size),
            ByteRange(hdr_size + 4096, 2 * hdr_size),
        )
        assert layout.keyslots_area == ByteRange(
            2 * hdr_size, 2 * hdr_size + int(config["keyslots_size"])
        )
        assert int(field(r"Keyslots area:\s*(\d+)", text)) == layout.keyslots_area.length
        offsets = [int(s["offset"]) for s in metadata["segments"].values()]
        assert layout.data_offset == min(offsets)
        assert layout.uuid == field(r"UUID:\s*(\S+)", text)
    erase_range = layout.erase_range
    assert erase_range.start == 0 and erase_range.end == layout.data_offset
    assert all(k.area.end <= erase_range.end for k in layout.keyslots)


@pytest.mark.parametrize("version", [1, 2])
def test_erase_kills_the_volume_and_a_header_backup_revives_it(
    target: Target, keyfile: Path, tmp_path: Path, version: int
) -> None:
    luks_format(target.path, keyfile, version)
    assert key_opens(target.path, keyfile)
    backup = tmp_path / "header.backup"
    result = cryptsetup("luksHeaderBackup", target.path, "--header-backup-file", backup)
    assert result.returncode == 0, result.stderr
    end = layout_of(target.path).erase_range.end
    data_before = sha256_range(target.path, end, target.size)

    report = erase(target)

    assert report.status == "success", report.to_dict()
    assert report.erased == (ByteRange(0, end),)
    assert report.pass_result.complete and report.pass_result.size == end
    check = report.verification
    assert check.passed and check.cache_bypass == "O_DIRECT"
    assert check.bytes_checked == end and not check.mismatches
    assert check.magic_offsets == luks.MAGIC_OFFSETS and check.magic_found == ()
    assert report.method == "cryptographic erase (LUKS keyslots)"
    assert report.nist_category == "Purge"
    assert [lim.code for lim in report.limitations] == ["luks-header-backups"]
    document = json.loads(json.dumps(report.to_dict()))
    assert document["status"] == "success"
    assert report.verification_seed is not None
    assert document["final_pass"]["key"] == report.verification_seed.hex()
    # The erased range holds the keystream of the recorded seed; the data area is untouched.
    seed = PassPattern.random(report.verification_seed)
    assert read_range(target.path, 0, end) == expected_bytes(seed, 0, end)
    assert sha256_range(target.path, end, target.size) == data_before

    assert cryptsetup("isLuks", target.path).returncode != 0
    assert cryptsetup("luksDump", target.path).returncode != 0
    assert not key_opens(target.path, keyfile)
    opening = cryptsetup("luksOpen", "--key-file", keyfile, target.path, "expunge-test-gone")
    assert opening.returncode != 0
    assert "not a valid LUKS device" in opening.stderr

    # A header backup kept elsewhere opens the ciphertext again: backups must be destroyed.
    restore = cryptsetup(
        "luksHeaderRestore", "--batch-mode", target.path, "--header-backup-file", backup
    )
    assert restore.returncode == 0, restore.stderr
    assert cryptsetup("isLuks", target.path).returncode == 0
    assert key_opens(target.path, keyfile)


@pytest.mark.parametrize("content", ["random", "zeros", "ext4"])
def test_a_file_that_is_not_luks_is_refused_and_untouched(tmp_path: Path, content: str) -> None:
    path = tmp_path / "plain.img"
    if content == "random":
        path = make_container(tmp_path, 8 << 20, "plain.img")
    else:
        with open(path, "wb") as f:
            f.truncate(8 << 20)
        if content == "ext4":
            mkfs = need_tool("mkfs.ext4")
            subprocess.run([mkfs, "-q", "-F", str(path)], check=True, capture_output=True)
    before = sha256_range(path, 0, path.stat().st_size)
    mtime = path.stat().st_mtime_ns
    with opened(path) as fd, pytest.raises(RefusedError) as caught:
        luks.read_layout(fd, name=str(path))
    error = caught.value
    assert error.exit_code == EXIT_REFUSED
    line = error.diagnostics()
    assert "\n" not in line
    assert line.startswith(f"{path}: is not a LUKS volume") and "nothing was written" in line
    assert "use an overwrite method" in line
    assert sha256_range(path, 0, path.stat().st_size) == before
    assert path.stat().st_mtime_ns == mtime


def test_a_loop_device_that_is_not_luks_is_refused_and_untouched(
    loop_device: tuple[str, Path],
) -> None:
    node, backing = loop_device
    before = sha256_range(backing, 0, backing.stat().st_size)
    with opened(node, exclusive=True) as fd, pytest.raises(RefusedError, match="not a LUKS"):
        luks.read_layout(fd, name=node)
    assert sha256_range(backing, 0, backing.stat().st_size) == before


def test_an_unknown_luks_version_is_a_target_error(tmp_path: Path) -> None:
    path = make_container(tmp_path, 1 << 20)
    with open(path, "r+b") as f:
        f.write(luks.LUKS_MAGIC + b"\x00\x07")
    before = sha256_range(path, 0, 1 << 20)
    with opened(path) as fd, pytest.raises(TargetError, match="unsupported version 7") as caught:
        luks.read_layout(fd, name=str(path))
    assert caught.value.exit_code == EXIT_TARGET
    assert sha256_range(path, 0, 1 << 20) == before


def test_damaged_luks2_metadata_is_refused_untouched(tmp_path: Path, keyfile: Path) -> None:
    need_tool("cryptsetup")
    path = make_container(tmp_path)
    luks_format(path, keyfile, 2)
    hdr_size = layout_of(str(path)).header_areas[1].start
    with open(path, "r+b") as f:
        for json_start in (4096, hdr_size + 4096):
            f.seek(json_start)
            f.write(b"#")  # both checksums now fail
    before = sha256_range(path, 0, path.stat().st_size)
    with opened(path) as fd, pytest.raises(TargetError, match="LUKS2 header damaged"):
        luks.read_layout(fd, name=str(path))
    assert sha256_range(path, 0, path.stat().st_size) == before


def test_a_damaged_primary_header_is_found_through_the_secondary(
    tmp_path: Path, keyfile: Path
) -> None:
    need_tool("cryptsetup")
    path = make_container(tmp_path)
    luks_format(path, keyfile, 2)
    intact = layout_of(str(path))
    with open(path, "r+b") as f:
        f.write(bytes(4096))  # the primary binary header is gone
    damaged = layout_of(str(path))
    assert damaged.keyslots == intact.keyslots
    assert damaged.erase_range == intact.erase_range
    report = erase(Target(str(path), "file", path.stat().st_size))
    assert report.status == "success"
    assert cryptsetup("isLuks", path).returncode != 0


def test_a_stale_header_in_the_data_area_is_erased_too(tmp_path: Path, keyfile: Path) -> None:
    need_tool("cryptsetup")
    donor = make_container(tmp_path, name="donor.img")
    luks_format(donor, keyfile, 2)
    secondary = read_range(donor, 0x4000, 0x8000)
    path = make_container(tmp_path)
    luks_format(path, keyfile, 1)
    with open(path, "r+b") as f:
        f.seek(0x400000)  # beyond the LUKS1 payload offset (2 MiB)
        f.write(secondary)
    layout = layout_of(str(path))
    assert layout.stale_headers == (ByteRange(0x400000, 0x404000),)
    assert layout.erase_range.end == 0x404000
    report = erase(Target(str(path), "file", path.stat().st_size))
    assert report.status == "success" and report.verification.magic_found == ()


def test_a_whole_volume_overwrite_composes_after_the_erase(tmp_path: Path, keyfile: Path) -> None:
    """``--then METHOD`` in layer 2: the engine's passes run on the same descriptor."""
    need_tool("cryptsetup")
    path = make_container(tmp_path, 24 << 20)
    luks_format(path, keyfile, 2)
    size = path.stat().st_size
    with opened(path) as fd:
        layout = luks.read_layout(fd, name=str(path))
        report = luks.luks_erase(fd, layout)
        final = PassPattern.random()
        passes = run_passes(fd, size, (PassPattern.fixed(b"\x00"), final), PassOptions())
    assert report.status == "success"
    assert [p.complete for p in passes] == [True, True]
    assert read_range(path, 0, size) == expected_bytes(final, 0, size)


def test_verification_finds_a_surviving_block_and_a_magic(tmp_path: Path, keyfile: Path) -> None:
    """Re-verification from the recorded seed fails when the media does not hold the stream."""
    need_tool("cryptsetup")
    path = make_container(tmp_path)
    luks_format(path, keyfile, 2)
    report = erase(Target(str(path), "file", path.stat().st_size))
    assert report.status == "success" and report.verification_seed is not None
    with open(path, "r+b") as f:
        f.seek(0x8000)
        f.write(luks.LUKS2_SECONDARY_MAGIC)
        f.seek(100_000)
        byte = f.read(1)[0]
        f.seek(100_000)
        f.write(bytes([byte ^ 0xFF]))
    with opened(path) as fd:
        again = luks.verify_erased(fd, report.layout, PassPattern.random(report.verification_seed))
    assert not again.passed
    assert again.magic_found == (0x8000,)
    assert again.mismatches == (ByteRange(0x8000, 0x9000), ByteRange(98304, 102400))
    assert replace(report, verification=again).status == "failed"
