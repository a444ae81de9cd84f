"""``shred -m luks-erase`` of a container file checks its filesystem as ``shred`` does.

On btrfs the erase writes new blocks and the old header stays on the medium: every block of
it is carved back from the raw image and opens the volume with the old key. So the erase is
refused there (nothing written) unless ``--accept-limitations``, and then certified Clear
with the limitation named. On ext4 (ordered) the same carve finds nothing: the control.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tests.support import MountedImage, mounted_image, need_tool, needs_root, run_cli, unmount
from tests.support.cryptoerase import key_opens, luks_format, make_container, make_keyfile
from tests.support.sealflow import certificate

HEADER = 16 << 20  # the LUKS2 header area cryptsetup writes by default (JSON and keyslots)
BLOCK = 4096


def _blocks(header: bytes) -> list[bytes]:
    """The distinct 4 KiB blocks of a header area that hold more data than zeros (JSON
    padding is zeros; the keyslot area is key material, unique)."""
    blocks = (header[i : i + BLOCK] for i in range(0, HEADER, BLOCK))
    return [b for b in dict.fromkeys(blocks) if b.count(0) < BLOCK // 2]


def _carve(image: Path, old_header: bytes, erased: bytes, keyfile: Path) -> tuple[int, int, bool]:
    """What a carve of the raw image recovers of the old header: (blocks found, blocks
    sought), and whether the erased container, with every block found put back, opens
    with the old key."""
    raw = image.read_bytes()
    on_image = {raw[i : i + BLOCK] for i in range(0, len(raw), BLOCK)}
    sought = _blocks(old_header)
    rebuilt = bytearray(erased)
    for i in range(0, HEADER, BLOCK):
        block = old_header[i : i + BLOCK]
        if block in on_image or block.count(0) >= BLOCK // 2:
            rebuilt[i : i + BLOCK] = block
    carved = image.parent / "carved.img"
    carved.write_bytes(bytes(rebuilt))
    return sum(b in on_image for b in sought), len(sought), key_opens(carved, keyfile)


def _format(folder: Path, tmp_path: Path) -> tuple[Path, Path, bytes]:
    """A LUKS2 container on ``folder``: its path, the key file, its header area."""
    need_tool("cryptsetup")
    keyfile = make_keyfile(tmp_path)
    container = make_container(folder, 24 << 20)
    luks_format(container, keyfile, 2)
    os.sync()
    return container, keyfile, container.read_bytes()[:HEADER]


def _erase(container: Path, home: Path, *extra: str) -> tuple[int, str, dict[str, object]]:
    result = run_cli("shred", "-m", "luks-erase", *extra, container, "--json", home=home)
    return result.code, result.err, json.loads(result.out) if result.out else {}


@needs_root
def test_on_btrfs_it_is_refused_and_accepted_only_as_clear(tmp_path: Path) -> None:
    with mounted_image(tmp_path, "btrfs", 256 << 20) as image:
        container, keyfile, old = _format(image.mount, tmp_path)
        before = hashlib.sha256(container.read_bytes()).hexdigest()
        code, err, _ = _erase(container, tmp_path / "home")
        assert code == 3 and "Traceback" not in err
        (line,) = err.strip().splitlines()
        assert "copy-on-write" in line and "nothing was written" in line
        assert "--accept-limitations" in line and str(container) in line
        assert hashlib.sha256(container.read_bytes()).hexdigest() == before

        code, err, done = _erase(container, tmp_path / "home", "--accept-limitations")
        assert code == 0, err
        assert done["status"] == "success" and done["category"] == "Clear"
        assert not key_opens(container, keyfile)
        payload = certificate(str(done["certificate"]))
        sanitization = payload["sanitization"]
        assert sanitization["category"] == "Clear", sanitization
        assert "old header may survive" in sanitization["category_reason"]
        lims = {lim["code"]: lim for lim in payload["limitations"]}
        assert lims["copy-on-write"]["target"] == str(container)
        erased = container.read_bytes()
        unmount(image)
        found, sought, opens = _carve(image.image, old, erased, keyfile)
    # Why it is only Clear: the old header is still on the medium, and it opens the volume.
    assert sought > 1000 and found == sought and opens


@needs_root
def test_on_ext4_it_is_purge_and_nothing_can_be_carved(
    tmp_path: Path, ext4_image: MountedImage
) -> None:
    container, keyfile, old = _format(ext4_image.mount, tmp_path)
    code, err, done = _erase(container, tmp_path / "home")
    assert code == 0, err
    assert done["category"] == "Purge"
    assert certificate(str(done["certificate"]))["sanitization"]["category"] == "Purge"
    erased = container.read_bytes()
    unmount(ext4_image)
    found, sought, opens = _carve(ext4_image.image, old, erased, keyfile)
    assert sought > 1000  # the keyslot area: what the carve would find if it survived
    assert found == 0 and not opens
