"""Helpers for the crypto-erase tests: real cryptsetup on files and loop devices of ours.

Every LUKS volume here is formatted on a file under the test's tmp_path or on a loop
device attached to such a file (the ``loop_device`` fixture), never on anything else.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expunge.shred.patterns import PassPattern, expected_bytes

FAST_PBKDF = ("--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000")


def cryptsetup(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    """Run cryptsetup; the caller checks the return code."""
    return subprocess.run(
        ["cryptsetup", *map(str, args)], capture_output=True, text=True, check=False, timeout=120
    )


def luks_format(target: str | Path, keyfile: Path, version: int) -> None:
    """``luksFormat`` a file or loop device of ours, fast (PBKDF2, 1000 iterations)."""
    result = cryptsetup(
        "luksFormat", "--batch-mode", "--type", f"luks{version}", *FAST_PBKDF,
        "--key-file", keyfile, target,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def key_opens(target: str | Path, keyfile: Path) -> bool:
    """Whether the key file opens a keyslot (``open --test-passphrase``: no device-mapper)."""
    return cryptsetup("open", "--test-passphrase", "--key-file", keyfile, target).returncode == 0


def make_keyfile(folder: Path) -> Path:
    path = folder / "volume.key"
    path.write_bytes(os.urandom(64))
    return path


def make_container(folder: Path, size: int = 32 << 20, name: str = "container.img") -> Path:
    """A container file of random bytes (so an erase is visible against the old content)."""
    path = folder / name
    path.write_bytes(expected_bytes(PassPattern.random(), 0, size))
    return path


def sha256_range(path: str | Path, start: int, end: int) -> str:
    """SHA-256 of bytes ``[start, end)`` of a file or device."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        f.seek(start)
        left = end - start
        while left:
            block = f.read(min(left, 4 << 20))
            assert block, "short read"
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def read_range(path: str | Path, start: int, end: int) -> bytes:
    with open(path, "rb", buffering=0) as f:
        f.seek(start)
        return f.read(end - start)


def field(pattern: str, text: str) -> str:
    """The first group of ``pattern`` in ``text`` (which must match)."""
    match = re.search(pattern, text)
    assert match is not None, (pattern, text)
    return match.group(1)


@dataclass(frozen=True)
class Luks1Dump:
    """What ``cryptsetup luksDump`` says about a LUKS1 header."""

    payload_sectors: int
    key_bytes: int
    uuid: str
    slots: list[tuple[int, bool]]
    """(slot, enabled) for all eight slots."""
    material: list[tuple[int, int]]
    """(key material offset in sectors, AF stripes) of each enabled slot."""


def luks1_dump(target: str | Path) -> Luks1Dump:
    result = cryptsetup("luksDump", target)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    slots = [
        (int(m.group(1)), m.group(2) == "ENABLED")
        for m in re.finditer(r"Key Slot (\d+): (ENABLED|DISABLED)", text)
    ]
    material = re.findall(r"Key material offset:\s*(\d+)\s*\n\s*AF stripes:\s*(\d+)", text)
    return Luks1Dump(
        payload_sectors=int(field(r"Payload offset:\s*(\d+)", text)),
        key_bytes=int(field(r"MK bits:\s*(\d+)", text)) // 8,
        uuid=field(r"UUID:\s*(\S+)", text),
        slots=slots,
        material=[(int(o), int(s)) for o, s in material],
    )


def luks2_dump(target: str | Path) -> tuple[dict[str, Any], str]:
    """cryptsetup's own JSON metadata, and its text dump."""
    json_result = cryptsetup("luksDump", "--dump-json-metadata", target)
    assert json_result.returncode == 0, json_result.stderr
    text = cryptsetup("luksDump", target)
    assert text.returncode == 0, text.stderr
    metadata = json.loads(json_result.stdout)
    assert isinstance(metadata, dict)
    return metadata, text.stdout


@contextmanager
def opened(path: str | Path, *, exclusive: bool = False) -> Iterator[int]:
    """A read-write descriptor, ``O_EXCL`` for a block device as ``drives`` opens one."""
    flags = os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW | (os.O_EXCL if exclusive else 0)
    fd = os.open(path, flags)
    try:
        yield fd
    finally:
        os.close(fd)
