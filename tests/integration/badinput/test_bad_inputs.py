"""The bad-input corpus: every mistake a user can make gets one clear line and its exit code.

Each case runs the real CLI in a prepared folder. Afterwards: exactly one line on stderr,
no traceback, the documented exit code, a phrase naming the problem or the remedy, and
every file in the folder byte-identical to before (nothing modified).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import run_cli

SECRET = b"CONFIDENTIAL bad-input sentinel\n" * 64


@dataclass(frozen=True)
class Case:
    """One bad input: the command line (``{d}`` is the case folder), what must happen."""

    name: str
    args: tuple[str, ...]
    code: int
    needle: str
    setup: Callable[[Path], None] | None = None
    station: bool = True
    cwd: str | None = None
    """The folder to run in (``{d}`` replaced), for relative paths."""
    env_home: str | None = None
    """``EXPUNGE_HOME`` instead of the case's home (``{d}`` replaced)."""
    absent: str = ""
    """A phrase the line must not hold (a misleading remedy once given)."""
    teardown: Callable[[Path], None] | None = None


def _hardlink(d: Path) -> None:
    os.link(d / "doc.txt", d / "other-name.txt")


def _symlink(d: Path) -> None:
    (d / "link").symlink_to(d / "doc.txt")


def _home_file(d: Path) -> None:
    (d / "home").write_bytes(b"not a folder")


def _config_dir(d: Path) -> None:
    (d / "home" / "config.toml").mkdir()


def _fifo(d: Path) -> None:
    os.mkfifo(d / "fifo")


def _socket(d: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d / "sock"))
    sock.close()


def _bad_cert(d: Path) -> None:
    (d / "bad.cert.json").write_text('{"payloadType": "x", "payload": "!!", "signatures": []}')


def _not_json(d: Path) -> None:
    (d / "garbage.cert.json").write_bytes(b"\x00\xff not json")


def _bad_key(d: Path) -> None:
    (d / "bad.pub").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def _station(d: Path) -> None:
    # A station whose key is encrypted: every signing command then needs the passphrase.
    (d / "pass").write_text("right passphrase\n")
    assert run_cli("key", "init", "--passphrase-file", d / "pass", home=d / "home").code == 0


def _wrong_pass(d: Path) -> None:
    _station(d)
    (d / "wrong").write_text("wrong passphrase\n")


def _open_key(d: Path) -> None:
    assert run_cli("key", "init", home=d / "home").code == 0
    (d / "home" / "station.key").chmod(0o644)


def _bad_config(d: Path) -> None:
    (d / "home").mkdir(exist_ok=True)
    (d / "home" / "config.toml").write_text("[station]\noperator = 42\n")


def _unknown_setting(d: Path) -> None:
    (d / "home").mkdir(exist_ok=True)
    (d / "home" / "config.toml").write_text("[station]\nshoe_size = '44'\n")


def _registered(d: Path) -> None:
    done = run_cli(
        "ledger", "register", d / "doc.txt", "--classification", "internal", home=d / "home"
    )
    assert done.code == 0, done


def _secret_policy(d: Path) -> None:
    (d / "home" / "policy.toml").write_text('[classification.secret]\nmin_verify = "full"\n')
    done = run_cli(
        "ledger", "register", d / "doc.txt", "--classification", "secret", home=d / "home"
    )
    assert done.code == 0, done


def _chattr(flag: str) -> Callable[[Path], None]:
    def change(d: Path) -> None:
        if os.geteuid() != 0 or shutil.which("chattr") is None:
            pytest.skip("needs root and chattr (e2fsprogs) to make a file immutable")
        subprocess.run(["chattr", flag, str(d / "doc.txt")], check=True)

    return change


CASES = [
    Case("missing path", ("shred", "{d}/nope.txt"), 4, "no such file"),
    Case("symlink", ("shred", "{d}/link"), 4, "symbolic link", _symlink),
    Case("fifo", ("shred", "{d}/fifo"), 4, "FIFO", _fifo, absent="drive wipe"),
    Case("socket", ("shred", "{d}/sock"), 4, "socket", _socket),
    Case("directory without -r", ("shred", "{d}"), 4, "-r"),
    Case("hard link", ("shred", "{d}/doc.txt"), 3, "--allow-hardlinks", _hardlink),
    Case("unknown method", ("shred", "-m", "dod-9", "{d}/doc.txt"), 2, "unknown method"),
    Case("method and passes", ("shred", "-m", "zero", "--passes", "00", "{d}/doc.txt"), 2, "both"),
    Case("odd hex pass", ("shred", "--passes", "0f0", "{d}/doc.txt"), 2, "hex bytes"),
    Case("empty pass", ("shred", "--passes", "00,,ff", "{d}/doc.txt"), 2, "empty pass"),
    Case("not hex pass", ("shred", "--passes", "zz", "{d}/doc.txt"), 2, "--passes"),
    Case("too many passes", ("shred", "--passes", ",".join(["R"] * 65), "{d}/doc.txt"), 2, "64"),
    Case("bad verify mode", ("shred", "--verify", "most", "{d}/doc.txt"), 2, "--verify"),
    Case("coverage out of range", ("shred", "--coverage", "0", "{d}/doc.txt"), 2, "--coverage"),
    Case("coverage not a number", ("shred", "--coverage", "ten", "{d}/doc.txt"), 2, "--coverage"),
    Case("unknown option", ("shred", "--shred-harder", "{d}/doc.txt"), 2, "--shred-harder"),
    Case("no path", ("shred",), 2, "PATHS"),
    Case("unknown command", ("obliterate", "{d}/doc.txt"), 2, "obliterate"),
    Case(
        "cert-out with two paths",
        ("shred", "--cert-out", "{d}/c.json", "{d}/doc.txt", "{d}/doc.txt"),
        2,
        "--cert-out",
    ),
    Case("verify without expectation", ("verify", "{d}/doc.txt"), 2, "--expect"),
    Case("verify short key", ("verify", "{d}/doc.txt", "--key", "00ff"), 2, "32 bytes"),
    Case("verify bad pattern", ("verify", "{d}/doc.txt", "--expect", "xyz"), 2, "hex"),
    Case(
        "verify bad mode", ("verify", "{d}/doc.txt", "--mode", "all", "--expect", "00"), 2, "--mode"
    ),
    Case("verify missing target", ("verify", "{d}/none", "--expect", "00"), 4, "no such"),
    Case("verify fifo", ("verify", "{d}/fifo", "--expect", "00"), 4, "fifo", _fifo),
    Case(
        "verify with cert and key",
        ("verify", "{d}/doc.txt", "--cert", "{d}/c.json", "--expect", "00"),
        2,
        "not both",
    ),
    # A certificate file that cannot be read is a target problem (issue [2/8]: it was 7).
    Case("cert verify missing file", ("cert", "verify", "{d}/none.json"), 4, "unreadable"),
    Case(
        "cert verify not json",
        ("cert", "verify", "{d}/garbage.cert.json"),
        7,
        "malformed",
        _not_json,
    ),
    Case("cert verify bad envelope", ("cert", "verify", "{d}/bad.cert.json"), 7, "", _bad_cert),
    Case("cert show bad envelope", ("cert", "show", "{d}/bad.cert.json"), 7, "", _bad_cert),
    Case(
        "trust file missing",
        ("cert", "verify", "{d}/bad.cert.json", "--trust", "{d}/no.pub"),
        2,
        "no.pub",
        _bad_cert,
    ),
    Case(
        "trust file not a key",
        ("cert", "verify", "{d}/bad.cert.json", "--trust", "{d}/bad.pub"),
        2,
        "bad.pub",
        _bad_key,
    ),
    Case(
        "countersign without key",
        ("cert", "countersign", "{d}/bad.cert.json"),
        2,
        "--key",
        _bad_cert,
    ),
    # A missing key is a target problem (issue [2/8]: it was reported as a usage error).
    Case("key show without key", ("key", "show"), 4, "station.key", station=False),
    Case("key export without key", ("key", "export"), 4, "station.key", station=False),
    Case("empty pass list", ("shred", "--passes", "", "{d}/doc.txt"), 2, "--passes"),
    Case(
        "coverage not finite",
        ("shred", "--verify", "quick", "--coverage", "nan", "{d}/doc.txt"),
        2,
        "coverage",
    ),
    Case(
        "verify with key and pattern",
        ("verify", "{d}/doc.txt", "--key", "00" * 32, "--expect", "00"),
        2,
        "both given",
    ),
    Case("home is a file", ("shred", "{d}/doc.txt"), 4, "not a folder", _home_file, False),
    Case("home below a file", ("shred", "{d}/doc.txt"), 4, "not a folder", _home_file, False),
    Case("settings unreadable", ("shred", "{d}/doc.txt"), 4, "config.toml", _config_dir),
    Case("refusal in a fresh home", ("shred", "{d}/nope.txt"), 4, "no such file", station=False),
    Case(
        "key init missing passphrase file",
        ("key", "init", "--passphrase-file", "{d}/none"),
        2,
        "passphrase",
    ),
    Case(
        "encrypted key, no passphrase", ("shred", "{d}/doc.txt"), 2, "passphrase", _station, False
    ),
    Case(
        "encrypted key, wrong passphrase",
        ("key", "show"),
        2,
        "passphrase",
        _wrong_pass,
        False,
    ),
    Case(
        "private key readable by others", ("shred", "{d}/doc.txt"), 7, "chmod 600", _open_key, False
    ),
    Case("config value not a string", ("shred", "{d}/doc.txt"), 2, "config.toml", _bad_config),
    Case("unknown config setting", ("shred", "{d}/doc.txt"), 2, "shoe_size", _unknown_setting),
    # Issue [2/8], invariant 5.
    Case(
        "ledger show non-UTF-8 id",
        ("ledger", "show", os.fsdecode(b"\xff")),
        4,
        "no such document",
        _registered,
    ),
    Case(
        "title not UTF-8",
        (
            "ledger",
            "register",
            "{d}/doc.txt",
            "--classification",
            "internal",
            "--title",
            "a\udcffb",
        ),
        2,
        "--title",
    ),
    Case(
        "home below /proc",
        ("shred", "{d}/doc.txt"),
        4,
        "cannot create the home folder",
        station=False,
        env_home="/proc/nonexist",
    ),
    Case(
        "shred -r of the folder holding the home", ("shred", "-r", "."), 3, "own state", cwd="{d}"
    ),
    Case(
        "immutable file",
        ("shred", "{d}/doc.txt"),
        4,
        "chattr -i",
        _chattr("+i"),
        absent="run as the file's owner",
        teardown=_chattr("-i"),
    ),
    Case(
        "dry run of a relative path applies the document's policy",
        ("shred", "--dry-run", "doc.txt"),
        3,
        "classified secret",
        _secret_policy,
        cwd="{d}",
    ),
]


def snapshot(folder: Path) -> dict[str, str]:
    """Every regular file's digest (the station home is expected to change only by key use)."""
    found = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root, name)
            if path.is_file() and not path.is_symlink():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input(tmp_path: Path, case: Case) -> None:
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "doc.txt").write_bytes(SECRET)
    home = folder / "home"
    if case.station:
        assert run_cli("key", "init", home=home).code == 0
    if case.setup is not None:
        case.setup(folder)
    env_home = home / "inner" if case.name == "home below a file" else home
    if case.env_home is not None:
        env_home = Path(case.env_home.replace("{d}", str(folder)))
    if case.name == "encrypted key, wrong passphrase":
        (home / "config.toml").write_text(f'[station]\nkey_passphrase_file = "{folder}/wrong"\n')
    before = snapshot(folder)
    args = [a.replace("{d}", str(folder)) for a in case.args]
    cwd = None if case.cwd is None else case.cwd.replace("{d}", str(folder))
    try:
        result = run_cli(*args, home=env_home, cwd=cwd)
    finally:
        if case.teardown is not None:
            case.teardown(folder)
    assert result.code == case.code, result
    # Errors go to stderr as "expunge: ..."; a verdict command (cert verify) reports its
    # one failing verdict on stdout instead.
    lines = result.err.strip().splitlines() or result.out.strip().splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith(("expunge: ", "FAILED: "))
    assert "Traceback" not in result.err + result.out
    assert case.needle.lower() in (lines[0] + result.out).lower(), lines[0]
    if case.absent:
        assert case.absent not in lines[0], lines[0]
    after = snapshot(folder)
    assert after == before, "a refused command changed files"
    assert (folder / "doc.txt").read_bytes() == SECRET


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
