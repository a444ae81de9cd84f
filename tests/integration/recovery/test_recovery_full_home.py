"""A home whose filesystem is nearly full: refused before the first write, or recorded.

Reported: with 16 KiB free the file was destroyed and then "cannot write the certificate";
with 10 KiB an ENOSPC traceback, with 6 KiB a BufferError, with 24 KiB SIGBUS. Now the room
for the record is reserved before anything is overwritten: whatever the free space, either
nothing was written (one line, exit 4) or the destruction is certified and recorded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support import mounted_image, needs_root, run_cli

SECRET = b"TOP SECRET canary 51bb\n" * 400  # 9 KiB


def _fill(mount: Path, leave: int) -> None:
    """Fill the filesystem until ``leave`` bytes (or a little less) are free."""
    st = os.statvfs(mount)
    free = st.f_bavail * st.f_frsize
    with open(mount / "filler", "wb") as f:
        remaining = free - leave
        while remaining > 0:
            chunk = min(remaining, 1 << 20)
            try:
                f.write(b"\0" * chunk)
                f.flush()
                os.fsync(f.fileno())
            except OSError:
                break
            remaining -= chunk


@needs_root
@pytest.mark.parametrize("free_kib", [0, 6, 10, 16, 24, 64, 512])
def test_a_nearly_full_home_refuses_or_records(tmp_path: Path, free_kib: int) -> None:
    with mounted_image(tmp_path, "ext4", 8 << 20) as image:
        home = image.mount / "home"
        assert run_cli("key", "init", home=home).code == 0
        secret = tmp_path / "secret.txt"
        secret.write_bytes(SECRET)
        registered = run_cli(
            "ledger", "register", secret, "--classification", "internal", home=home
        )
        assert registered.code == 0, registered
        _fill(image.mount, free_kib << 10)
        result = run_cli("shred", secret, home=home)
        assert "Traceback" not in result.err, result
        assert result.code in (0, 4), result
        if result.code == 4:
            assert len(result.err.strip().splitlines()) == 1, result
            assert "nothing was written" in result.err
            assert secret.read_bytes() == SECRET
            return
        assert not secret.exists()
        (certificate,) = (home / "certificates").glob("*.cert.json")
        assert run_cli("cert", "verify", certificate, home=home).code == 0
        doc = registered.out.split()[0]
        shown = json.loads(run_cli("ledger", "show", doc, "--json", home=home).out)
        assert shown["status"] == "destroyed"
