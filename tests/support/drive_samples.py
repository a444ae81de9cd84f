"""Answers captured from real drives (tests/data, sources in its README), and the few
word-level edits some tests make to them."""

from __future__ import annotations

import struct
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


def skdump(name: str) -> dict[str, bytes]:
    """The tagged sections of a libatasmart ``skdump --save`` blob: IDFY, SMST, SMDT, SMTH."""
    raw = (DATA / "ata" / f"{name}.skdump").read_bytes()
    sections: dict[str, bytes] = {}
    at = 0
    while at < len(raw):
        tag = raw[at : at + 4].decode("ascii")
        (size,) = struct.unpack(">I", raw[at + 4 : at + 8])
        sections[tag] = raw[at + 8 : at + 8 + size]
        at += 8 + size
    return sections


def identify(name: str) -> bytes:
    """The IDENTIFY DEVICE data of a libatasmart sample."""
    return skdump(name)["IDFY"]


def with_words(data: bytes, **words: int) -> bytes:
    """IDENTIFY (or DCO) data with words replaced (``w128=0x0021``), checksum recomputed
    so the edited data is as valid as the original."""
    buf = bytearray(data)
    for key, value in words.items():
        index = int(key.removeprefix("w"))
        buf[2 * index : 2 * index + 2] = value.to_bytes(2, "little")
    buf[510] = 0xA5
    buf[511] = (-sum(buf[:511])) % 256
    return bytes(buf)


def word(data: bytes, index: int) -> int:
    """Word ``index`` of IDENTIFY data."""
    return int.from_bytes(data[2 * index : 2 * index + 2], "little")


def nvme(name: str) -> bytes:
    """An NVMe identify structure or log page (``nvme/NAME.bin``)."""
    return (DATA / "nvme" / f"{name}.bin").read_bytes()


def smartctl_json(name: str) -> str:
    """``smartctl -j -a`` output (``smartctl/NAME.json``)."""
    return (DATA / "smartctl" / f"{name}.json").read_text()


def scsi_hex(name: str) -> bytes:
    """An sg3_utils ``inhex`` file as bytes (``#`` comment lines dropped)."""
    lines = (DATA / "scsi" / f"{name}.hex").read_text().splitlines()
    return bytes.fromhex(" ".join(line for line in lines if not line.lstrip().startswith("#")))
