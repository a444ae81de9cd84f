"""The key-scan: every place the bytes of a destroyed key still occur in the store's files."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from expunge.ledger.keystore.model import Residue

_SCAN_CHUNK = 1 << 20


def scan_file(path: Path, needle: bytes) -> list[int]:
    """Every offset at which ``needle`` occurs in the file (overlapping reads of 1 MiB)."""
    return scan_needles(path, {"needle": needle})[0].get("needle", [])


def scan_needles(
    path: Path, needles: Mapping[str, bytes], opened: BinaryIO | None = None
) -> tuple[dict[str, list[int]], int]:
    """The offsets of each named needle in the file, and the bytes read (one pass).

    ``opened`` is the file already open (read from its start, and left open).
    """
    if not needles or not all(needles.values()):
        raise ValueError("cannot scan for empty bytes")
    found: dict[str, list[int]] = {}
    overlap = max(len(n) for n in needles.values()) - 1
    total = 0
    with contextlib.nullcontext(opened) if opened else open(path, "rb") as f:
        f.seek(0)
        base, tail = 0, b""
        while chunk := f.read(_SCAN_CHUNK):
            total += len(chunk)
            data = tail + chunk
            for name, needle in needles.items():
                start = data.find(needle)
                while start != -1:
                    # A match inside the carried-over tail was found in the previous round.
                    if start + len(needle) > len(tail):
                        found.setdefault(name, []).append(base + start)
                    start = data.find(needle, start + 1)
            keep = min(overlap, len(data))
            base += len(data) - keep
            tail = data[len(data) - keep :] if keep else b""
    return found, total


@dataclass(frozen=True)
class ScanResult:
    """What a key-scan read and found."""

    files: tuple[str, ...]
    bytes_scanned: int
    residue: tuple[Residue, ...]


def scan_files(
    paths: Sequence[Path],
    needles: Mapping[str, bytes],
    opened: Sequence[BinaryIO] | None = None,
) -> ScanResult:
    """Scan every file of ``paths`` that exists for each needle (through ``opened``, the
    same files already open, when given)."""
    scanned: list[str] = []
    residue: list[Residue] = []
    total = 0
    for n, path in enumerate(paths):
        try:
            found, size = scan_needles(path, needles, opened[n] if opened else None)
        except FileNotFoundError:
            continue  # a side file SQLite removed meanwhile: nothing left to hold a key
        scanned.append(str(path))
        total += size
        residue.extend(
            Residue(str(path), offset, name)
            for name, offsets in found.items()
            for offset in offsets
        )
    return ScanResult(tuple(scanned), total, tuple(sorted(residue, key=_order)))


def _order(r: Residue) -> tuple[str, int, str]:
    return (r.file, r.offset, r.needle)
