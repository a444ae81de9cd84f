"""The station's key-encryption key, which wraps every sealed document's key.

``<home>/station.kek`` (32 bytes, mode 0600) is created on first use and kept for the
station's life: the key store holds only keys wrapped under it. It is replaced once, in
place, when a key store of an earlier version is migrated (``migrate``): the new KEK is
first written to ``station.kek.next``, and ``station.kek`` is overwritten with it only once
every live key was re-wrapped, so a crash at any step leaves a KEK that opens every key.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import blake3

from expunge.core.atomic import fsync_dir, write_new
from expunge.core.config import Home
from expunge.core.errors import IntegrityError, RefusedError, TargetError
from expunge.ledger.keystore import SlotCheck, overwrite_checked
from expunge.shred import sealing
from expunge.workflows.cryptoerase.medium import open_own_file

_KEK_MODE = 0o600
_TAG_LABEL = b"expunge kek tag v1\0"


def kek_tag(kek: bytes) -> str:
    """The public name of a KEK, stored beside every key it wraps (8 bytes of BLAKE3)."""
    return blake3.blake3(_TAG_LABEL + kek).digest(length=8).hex()


def next_kek_path(home: Home) -> Path:
    """Where a KEK replacing the current one waits until every key is wrapped under it."""
    return home.root / "station.kek.next"


def next_kek(home: Home) -> bytes:
    """The KEK that will replace ``station.kek`` (created on the first call)."""
    path = next_kek_path(home)
    with contextlib.suppress(FileExistsError):
        write_new(path, sealing.new_kek(), _KEK_MODE)
    return _read_kek(path)


def read_next_kek(home: Home) -> bytes:
    """The content of ``station.kek.next`` as it is (all zeros once it was discarded)."""
    return _read_kek(next_kek_path(home))


def replace_kek_in_place(home: Home, kek: bytes) -> SlotCheck:
    """Overwrite ``station.kek`` with ``kek`` in place (the old KEK's block is overwritten,
    not freed), synced and read back from the medium."""
    return _overwrite(home.kek_path, kek)


def discard_next_kek(home: Home) -> None:
    """Destroy ``station.kek.next`` once ``station.kek`` holds it: zeros written in place,
    then removed (with any copy a killed run left half made)."""
    spare = next_kek_path(home)
    _overwrite(spare, bytes(sealing.KEY_BYTES))
    spare.unlink()
    for stale in home.root.glob(f".{spare.name}.*.tmp"):  # from a write_new cut short
        _overwrite(stale, bytes(stale.stat().st_size))
        stale.unlink()
    fsync_dir(home.root)


def _overwrite(path: Path, data: bytes) -> SlotCheck:
    fd = open_own_file(path, os.O_RDWR)
    try:
        return overwrite_checked(fd, 0, data)
    finally:
        os.close(fd)


def station_kek(home: Home, *, create: bool) -> bytes:
    """The station's key-encryption key (``<home>/station.kek``), created when ``create``.

    Refused when the file is readable by group or others, or is not 32 bytes: a KEK that
    leaked or was damaged would make every sealed document readable or unreadable.
    """
    path = home.kek_path
    if create and not path.exists():
        home.ensure()
        # A concurrent run may have created it first: then that one is the KEK.
        with contextlib.suppress(FileExistsError):
            write_new(path, sealing.new_kek(), _KEK_MODE)
    return _read_kek(path)


def _read_kek(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise TargetError(
            "there is no station key-encryption key: nothing was ever sealed here",
            target=str(path),
            remedy="check --home (the home that sealed the document)",
        ) from None
    except OSError as exc:
        raise TargetError(
            f"cannot read the key-encryption key: {exc.strerror}",
            target=str(path),
            remedy="check the file and its permissions",
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        data = os.read(fd, sealing.KEY_BYTES + 1)
    finally:
        os.close(fd)
    if stat.S_IMODE(mode) & 0o077:
        raise RefusedError(
            f"the key-encryption key is accessible to others (mode {stat.S_IMODE(mode):o})",
            target=str(path),
            remedy=f"chmod 600 {path}",
        )
    if len(data) != sealing.KEY_BYTES:
        raise IntegrityError(
            f"the key-encryption key is {len(data)} bytes, not {sealing.KEY_BYTES}",
            target=str(path),
            remedy="restore it from a backup: without it, sealed documents cannot be unsealed",
        )
    return data
