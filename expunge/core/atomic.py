"""Small files written so that a crash leaves the old version or the new one, never half.

Certificates, journals, keys and the station chain are all written this way: a temporary
file in the same folder (``O_EXCL``, the final mode from the start), synced, then renamed
(or linked, where an existing file must never be replaced), then the folder synced so the
new name itself is durable. Errors are ``OSError``; callers say what they were writing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def fsync_dir(folder: Path) -> None:
    """Make the names in ``folder`` durable (after a create, rename or unlink)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(path: Path, data: bytes | Iterable[bytes], mode: int) -> Path:
    # os.urandom, not secrets.token_hex: the same bytes without importing hmac and hashlib.
    temp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(temp, _FLAGS, mode)
    try:
        os.fchmod(fd, mode)
        for chunk in [data] if isinstance(data, bytes) else data:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return temp


def write_atomic(path: Path, data: bytes | Iterable[bytes], mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` (bytes, or chunks of them) atomically and durably."""
    temp = _write_temp(path, data, mode)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``data`` atomically; ``FileExistsError`` if it already exists."""
    temp = _write_temp(path, data, mode)
    try:
        os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)
