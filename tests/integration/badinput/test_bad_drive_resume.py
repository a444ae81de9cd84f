"""A drive ``--resume`` with another method than the journal's is a usage error naming the
method to use (issue [2/8], invariant 5: it was reported as exit 6, "I/O error")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.faults import FaultyImage, MiB
from tests.support.resume import wipe

SIZE = 16 * MiB


def test_a_resume_with_another_method_names_the_journals_method(
    faulty_image: Callable[[int], FaultyImage], tmp_path: Path
) -> None:
    image = faulty_image(SIZE)
    node = image.loop("-b", "4096")
    home = tmp_path / "home"
    image.set_faults(fail_after_bytes=SIZE * 4 // 10, gone_errno="EIO")
    code, _, err = wipe(node, home, "-m", "dod-3")
    assert code == 6, err
    image.set_faults()
    before = image.content()
    code, out, err = wipe(node, home, "--resume")
    assert "Traceback" not in out + err
    assert code == 2, out + err
    assert "dod-3" in out + err and "-m dod-3 --resume" in out + err
    assert image.content() == before, "a refused resume wrote to the drive"
