"""``unseal -o OUT`` writes plaintext: the ledger records it, destroy overwrites it, and the
crypto-erase is then Clear, never "Purge (every remaining copy is ciphertext)".

OUT lives on a loop-mounted ext4 image, scanned raw after the destroy for a canary that
fills the document; a control file deleted the ordinary way is found by the same scan.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support import MountedImage, count_in_file, run_cli, unmount
from tests.support.sealflow import certificate, destroy, ok, seal

CANARY = b"UNSEAL-CANARY-5b1e|"


def _sealed(tmp_path: Path, home: Path, doc: str) -> Path:
    plain = tmp_path / f"{doc}.txt"
    plain.write_bytes(CANARY * 20000)
    return Path(seal(home, plain, "--doc", doc, "--classification", "confidential")["sealed_path"])


def _show(home: Path, doc: str) -> dict[str, Any]:
    data = json.loads(ok(run_cli("ledger", "show", doc, "--json", home=home)).out)
    assert isinstance(data, dict)
    return data


def _copy_at(shown: dict[str, Any], path: Path) -> dict[str, Any]:
    (loc,) = [loc for loc in shown["locations"] if loc["path"] == str(path)]
    assert isinstance(loc, dict)
    return loc


def test_the_unsealed_copy_is_recorded_overwritten_and_makes_the_erase_clear(
    tmp_path: Path, cli_home: Path, ext4_image: MountedImage
) -> None:
    sealed = _sealed(tmp_path, cli_home, "DOC-U1")
    out = ext4_image.mount / "reading-copy.txt"
    result = ok(run_cli("unseal", sealed, "-o", out, home=cli_home))
    assert f"unsealed DOC-U1: {out}" in result.out and "recorded as a plaintext copy" in result.out
    loc = _copy_at(_show(cli_home, "DOC-U1"), out)
    assert (loc["kind"], loc["ciphertext"], loc["status"]) == ("copy", False, "outstanding")
    control = ext4_image.mount / "control.txt"
    control.write_bytes(b"CONTROL-CANARY|" * 20000)
    os.sync()
    control.unlink()

    done = destroy(cli_home, "DOC-U1")
    assert done["status"] == "success"
    assert not out.exists()
    payload = certificate(done["certificate"])
    sanitization = payload["sanitization"]
    assert sanitization["category"] == "Clear"
    assert f"unsealed to {out}" in sanitization["category_reason"]
    assert str(out) in sanitization["category_reason"]  # named as a plaintext copy shredded
    assert str(out) in {s["subject"]["path"] for s in payload["subjects"]}
    shown = _show(cli_home, "DOC-U1")
    assert shown["status"] == "destroyed" and shown["outstanding"] == []
    unmount(ext4_image)
    found = count_in_file(ext4_image.image, [CANARY, b"CONTROL-CANARY|"])
    assert found[b"CONTROL-CANARY|"] > 0, "the scan cannot see deleted data"
    assert found[CANARY] == 0, found


def test_an_unsealed_copy_removed_by_hand_stays_outstanding(tmp_path: Path, cli_home: Path) -> None:
    sealed = _sealed(tmp_path, cli_home, "DOC-U2")
    out = tmp_path / "gone.txt"
    ok(run_cli("unseal", sealed, "-o", out, home=cli_home))
    out.unlink()  # its blocks are free, not overwritten: nobody may claim it destroyed
    payload = certificate(destroy(cli_home, "DOC-U2")["certificate"])
    assert payload["sanitization"]["category"] == "Clear"
    loc = _copy_at(_show(cli_home, "DOC-U2"), out)
    assert loc["status"] == "outstanding" and loc["ciphertext"] is False
    assert f"{out} (seq {loc['seq']}): not present" in payload["notes"]


def test_an_unseal_killed_before_the_ledger_heard_of_it_still_makes_the_erase_clear(
    tmp_path: Path, cli_home: Path
) -> None:
    sealed = _sealed(tmp_path, cli_home, "DOC-U3")
    out = tmp_path / "killed.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
    env["EXPUNGE_HOME"] = str(cli_home)
    blocker = sqlite3.connect(cli_home / "ledger.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the unseal waits to append its copy event
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "expunge", "unseal", str(sealed), "-o", str(out)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not out.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert out.exists() and child.poll() is None
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert all(loc["path"] != str(out) for loc in _show(cli_home, "DOC-U3")["locations"])
    payload = certificate(destroy(cli_home, "DOC-U3")["certificate"])
    sanitization = payload["sanitization"]
    assert sanitization["category"] == "Clear"
    assert f"unsealed to {out}" in sanitization["category_reason"]


def test_an_unseal_whose_copy_cannot_be_recorded_leaves_no_plaintext(
    tmp_path: Path, cli_home: Path, ext4_image: MountedImage
) -> None:
    sealed = _sealed(tmp_path, cli_home, "DOC-U4")
    taken = ext4_image.mount / "taken.txt"
    taken.write_bytes(b"another document")
    ok(run_cli("ledger", "register", taken, "--classification", "confidential", "--id",
               "DOC-OTHER", home=cli_home))  # fmt: skip
    taken.unlink()  # still recorded there: one path holds one document
    result = run_cli("unseal", sealed, "-o", taken, home=cli_home)
    assert result.code == 2 and "Traceback" not in result.err, result
    (line,) = result.err.strip().splitlines()
    assert "DOC-OTHER is already recorded here" in line
    assert not taken.exists()
    unmount(ext4_image)
    assert count_in_file(ext4_image.image, [CANARY]) == {CANARY: 0}
