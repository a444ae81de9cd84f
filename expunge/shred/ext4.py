"""ext4's data mode as the kernel uses it: whether file content also goes to the journal.

``data=journal`` can come from a mount option or from the superblock's default mount
options (``tune2fs -o journal_data``), which no mount table shows. The kernel's own view is
``/proc/fs/ext4/<device>/options``; where that file cannot be read, the mount options and
then the superblock are consulted, in the order the kernel applies them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from expunge.shred import fsinfo, mounts
from expunge.shred.mounts import MountFacts

DataMode = Literal["journal", "ordered", "writeback"]

PROC_EXT4 = Path("/proc/fs/ext4")
# The superblock starts 1024 bytes into the device; s_default_mount_opts is at 0x100 in it.
_SUPERBLOCK = 1024
_DEFAULT_MOUNT_OPTS = 0x100
_MAGIC_OFFSET = 0x38
_MAGIC = b"\x53\xef"
_JMODE_MASK = 0x0060
_JMODES: dict[int, DataMode] = {0x20: "journal", 0x40: "ordered", 0x60: "writeback"}
_OPTION_MODES: dict[str, DataMode] = {f"data={m}": m for m in _JMODES.values()}


def _mode_in(options: Iterable[str]) -> DataMode | None:
    for option in options:
        mode = _OPTION_MODES.get(option)
        if mode is not None:
            return mode
    return None


def proc_data_mode(device: str, proc_ext4: Path = PROC_EXT4) -> DataMode | None:
    """The mode in ``/proc/fs/ext4/<device>/options``; None when that file is unreadable.

    The kernel lists ``data=`` there only when it is not the default ``ordered``.
    """
    try:
        text = (proc_ext4 / device / "options").read_text()
    except OSError:
        return None
    return _mode_in(text.split()) or "ordered"


def superblock_data_mode(source: str) -> DataMode | None:
    """The default data mode written in the superblock of the device ``source``."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        block = os.pread(fd, 1024, _SUPERBLOCK)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(block) < _DEFAULT_MOUNT_OPTS + 4 or block[_MAGIC_OFFSET : _MAGIC_OFFSET + 2] != _MAGIC:
        return None
    opts = int.from_bytes(block[_DEFAULT_MOUNT_OPTS : _DEFAULT_MOUNT_OPTS + 4], "little")
    return _JMODES.get(opts & _JMODE_MASK, "ordered")


def data_mode(
    st_dev: int,
    mount: MountFacts | None,
    *,
    proc_ext4: Path = PROC_EXT4,
    sys_root: Path = Path("/sys"),
) -> DataMode | None:
    """The data mode of the ext3/ext4 filesystem on device ``st_dev``; None if unknown.

    First what the kernel says it uses; then a ``data=`` mount option (it overrides the
    superblock); then the superblock's default. Read once per filesystem while the mount
    table stays the same (a tree's 10,000 files would read sysfs and /proc 10,000 times).
    """
    return _data_mode(st_dev, mount, proc_ext4, sys_root, mounts.generation())


@functools.lru_cache(maxsize=64)
def _data_mode(
    st_dev: int, mount: MountFacts | None, proc_ext4: Path, sys_root: Path, _generation: int
) -> DataMode | None:
    device = fsinfo.block_device_name(st_dev, sys_root)
    if device is not None:
        found = proc_data_mode(device, proc_ext4)
        if found is not None:
            return found
    if mount is None:
        return None
    return _mode_in(mount.options) or superblock_data_mode(mount.source)
