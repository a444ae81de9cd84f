"""``expunge drive wipe`` on loop devices over faultfs images: a drive pulled mid-wipe,
resumed on the same medium, and another medium at the same node refused untouched."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from expunge.shred.journal import SUFFIX, WipeJournal
from tests.support.faults import FaultyImage, MiB
from tests.support.resume import certificates, final_content, wipe

Image = Callable[[int], FaultyImage]
SIZE = 32 * MiB
# 4 KiB logical blocks: a pulled drive is told from bad sectors by reading back a block
# written before (see the engine's gone-medium detection).
BLOCK = ("-b", "4096")


def journals(home: Path) -> list[Path]:
    folder = home / "journal"
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.exists() else []


def test_a_pulled_drive_is_interrupted_then_resumed_to_success(
    faulty_image: Image, tmp_path: Path
) -> None:
    image = faulty_image(SIZE)
    node = image.loop(*BLOCK)
    home = tmp_path / "home"
    image.set_faults(fail_after_bytes=SIZE * 4 // 10, gone_errno="EIO")
    code, out, err = wipe(node, home)
    assert code == 6, err
    assert "INTERRUPTED" in out and "stopped answering" in out and "--resume" in out
    (cert,) = certificates(home)
    assert cert["outcome"] == "interrupted"
    (journal,) = journals(home)
    assert WipeJournal.load(journal).record.events[-1].kind == "interrupted"
    again, refused, _ = wipe(node, home)
    assert again == 3 and "REFUSED" in refused and "--resume" in refused

    image.set_faults()  # the same medium answers again
    code, out, err = wipe(node, home, "--resume")
    assert code == 0, out + err
    final = certificates(home)[-1]
    assert final["outcome"] == "success"
    assert "interrupted at pass 0" in final["notes"] and "resumed at pass 0" in final["notes"]
    assert image.content() == final_content(final, SIZE)
    assert journals(home) == []


def test_another_medium_at_the_node_is_refused_untouched(
    faulty_image: Image, tmp_path: Path
) -> None:
    image = faulty_image(SIZE)
    node = image.loop(*BLOCK)
    home = tmp_path / "home"
    image.set_faults(fail_after_bytes=SIZE // 2, gone_errno="EIO")
    code, _, err = wipe(node, home)
    assert code == 6, err
    assert journals(home)
    image.detach(node)
    other = tmp_path / "other.img"
    content = os.urandom(SIZE)
    other.write_bytes(content)
    attached = subprocess.run(["losetup", node, str(other)], capture_output=True)
    if attached.returncode != 0:  # another process took the free node: attach anywhere
        node = subprocess.run(
            ["losetup", "-f", "--show", str(other)], capture_output=True, text=True, check=True
        ).stdout.strip()
    try:
        code, out, err = wipe(node, home, "--resume")
        assert code == 3, out + err
        assert "not the medium the interrupted wipe was writing" in out and "diskseq" in out
        assert other.read_bytes() == content
        assert all(c["outcome"] != "success" for c in certificates(home))
    finally:
        subprocess.run(["losetup", "-d", node], check=False)
