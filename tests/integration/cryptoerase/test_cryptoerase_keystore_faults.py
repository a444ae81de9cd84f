"""A medium that loses the write zeroing a key: the read-back catches it, nothing is
certified, the key is never handed out again, and the erase is finished once the medium
takes writes again.

The home is on ext4 on a loop device over an image served by faultfs (``lost_writes``: the
write is acknowledged, the bytes never land). What the medium holds is read from faultfs's
backing file, beside the store's own verdict.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.support import Result, need_tool, run_cli
from tests.support.faults import FaultyImage
from tests.support.sealflow import certificate, ok, seal, wrapped_key


def _one_line(result: Result, code: int) -> str:
    assert result.code == code and "Traceback" not in result.err, result
    (line,) = result.err.strip().splitlines()
    return line


def test_a_lost_zeroing_write_is_caught_and_the_erase_finished_later(
    tmp_path: Path, faulty_image: Callable[[int], FaultyImage]
) -> None:
    need_tool("mkfs.ext4")
    image = faulty_image(48 << 20)
    node = image.loop()
    subprocess.run(["mkfs.ext4", "-q", node], check=True, capture_output=True)
    mount = tmp_path / "mnt"
    mount.mkdir()
    subprocess.run(["mount", node, str(mount)], check=True)
    try:
        home = mount / "home"
        home.mkdir()
        plain = tmp_path / "memo.txt"
        plain.write_bytes(b"memo " * 1000)
        sealed = seal(home, plain, "--doc", "DOC-LW", "--classification", "confidential")
        wrapped = wrapped_key(home, "DOC-LW")
        stray = tmp_path / "mailed.sealed"  # a copy out of reach: only the key can kill it
        stray.write_bytes(Path(sealed["sealed_path"]).read_bytes())
        os.sync()
        at = image.content().find(wrapped)
        assert at != -1, "the slot is not on the medium: the test proves nothing"

        issued = sorted((home / "certificates").iterdir())  # the plaintext's, from seal
        image.set_faults(lost_writes=[[at, at + len(wrapped)]])
        failed = run_cli("destroy", "DOC-LW", "--yes", "--json", home=home)
        assert "did not read back as zeros" in _one_line(failed, 6)
        assert wrapped in image.content()  # what the read-back saw: the key is still there
        assert sorted((home / "certificates").iterdir()) == issued
        out = tmp_path / "out.txt"
        refused = run_cli("unseal", stray, "-o", out, home=home)
        assert "did not read back as zeros" in _one_line(refused, 6)  # never handed out
        assert not out.exists()

        image.set_faults()  # the medium takes writes again
        done = json.loads(ok(run_cli("destroy", "DOC-LW", "--yes", "--json", home=home)).out)
        assert done["status"] == "success"
        assert wrapped not in image.content()
        payload = certificate(done["certificate"])
        assert "key-erase-resumed" in {lim["code"] for lim in payload["limitations"]}
        (subject,) = [s for s in payload["subjects"] if s["key_erasure"]]
        assert subject["key_erasure"]["destroyed"] is True
        (check,) = subject["verifications"]
        assert (check["mode"], check["status"], check["cache_bypass"]) == (
            "key-slot-read-back",
            "passed",
            "O_DIRECT",
        )
        line = _one_line(run_cli("unseal", stray, "-o", out, home=home), 7)
        assert f"(certificate {payload['certificate_id']})" in line
    finally:
        subprocess.run(["umount", str(mount)], check=False)
