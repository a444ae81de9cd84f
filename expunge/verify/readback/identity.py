"""Which object is read back: its identity, its kind, and the errors a wrong one raises."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from typing import Literal

from expunge.core.errors import TargetError


@dataclass(frozen=True)
class TargetIdentity:
    """Which object a target is: a file by ``(st_dev, st_ino)``, a block device by rdev."""

    kind: Literal["file", "block"]
    dev: int
    """``st_dev`` of a file; ``st_rdev`` (major/minor) of a block device."""
    ino: int = 0
    """``st_ino`` of a file; 0 for a block device."""

    @classmethod
    def from_stat(cls, st: os.stat_result) -> TargetIdentity:
        """The identity of a stat result (of a regular file or block device)."""
        if stat.S_ISBLK(st.st_mode):
            return cls("block", st.st_rdev, 0)
        return cls("file", st.st_dev, st.st_ino)

    def matches(self, st: os.stat_result) -> bool:
        """Whether ``st`` describes this object."""
        return self == TargetIdentity.from_stat(st)

    def __str__(self) -> str:
        if self.kind == "block":
            return f"block device {os.major(self.dev)}:{os.minor(self.dev)}"
        return f"file dev={self.dev} ino={self.ino}"


Identity = TargetIdentity | tuple[int, int]
"""An expected identity: a ``TargetIdentity``, or ``(st_dev, st_ino)`` of a regular file."""


def _as_identity(expected: Identity) -> TargetIdentity:
    if isinstance(expected, TargetIdentity):
        return expected
    dev, ino = expected
    return TargetIdentity("file", dev, ino)


def target_error(name: str, exc: OSError) -> TargetError:
    """The one-line error for failing to open or size the target ``name``."""
    code = exc.errno
    if code == errno.ENOENT:
        return TargetError("no such file or device", target=name, remedy="check the path")
    if code == errno.ELOOP:
        return TargetError(
            "is a symbolic link; verification never follows links",
            target=name,
            remedy="give the path of the file or device itself",
        )
    if code in (errno.EACCES, errno.EPERM):
        return TargetError(
            "permission denied",
            target=name,
            remedy="run as a user who may read it (root for drives)",
        )
    return TargetError(f"cannot open: {exc.strerror or exc}", target=name)


def check_kind(name: str, st: os.stat_result) -> None:
    """TargetError unless ``st`` is a regular file or a block device."""
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        raise TargetError(
            "is not a regular file or a block device",
            target=name,
            remedy="verify a file or a whole drive",
        )


def check_identity(name: str, st: os.stat_result, expected: Identity | None) -> None:
    """TargetError unless ``st`` is the object ``expected`` names (anything, if ``None``)."""
    if expected is None:
        return
    want = _as_identity(expected)
    if not want.matches(st):
        raise TargetError(
            f"the object opened ({TargetIdentity.from_stat(st)}) is not the one expected ({want})",
            target=name,
            remedy="the target was replaced or renamed; nothing was verified",
        )
