"""What a target is before it is read back: its identity, size and logical block size.

Apart from ``opening`` because only ``expunge verify`` plans from a probe: a destruction
plans from the file it holds open (one frozen dataclass fewer at a one-file shred).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from expunge.core.blockdev import logical_block_size, target_size
from expunge.verify.readback.identity import TargetIdentity, check_kind, target_error
from expunge.verify.readback.opening import OPEN_FLAGS


@dataclass(frozen=True)
class TargetInfo:
    """What ``probe_target`` learned: identity, size and logical block size."""

    path: str
    identity: TargetIdentity
    size: int
    logical_block_size: int


def probe_target(path: str | os.PathLike[str]) -> TargetInfo:
    """Identity, size and logical block size of a file or block device, for planning.

    ``make_plan(info.size, mode, align=info.logical_block_size)`` then
    ``verify_path(path, pattern, plan, expect_identity=info.identity)``.
    """
    name = os.fspath(path)
    try:
        fd = os.open(name, OPEN_FLAGS)
    except OSError as exc:
        raise target_error(name, exc) from exc
    try:
        st = os.fstat(fd)
        check_kind(name, st)
        try:
            size = target_size(fd, st)
            lbs = logical_block_size(fd, st)
        except OSError as exc:
            raise target_error(name, exc) from exc
        return TargetInfo(name, TargetIdentity.from_stat(st), size, lbs)
    finally:
        os.close(fd)
