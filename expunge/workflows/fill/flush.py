"""The fill's own metadata, written home before the fill files are removed.

A journaling filesystem writes the metadata of the fill (its folder's directory block,
the fill files' extent index blocks) to its journal first, and to their final blocks
only when the journal is checkpointed. Those blocks came from the free space: if the
fill is removed before the checkpoint, they go back to the free space still holding what
they held before. Freezing the filesystem (``FIFREEZE``, as ``fsfreeze`` does) flushes
the journal and writes every block home; it is thawed at once.
"""

from __future__ import annotations

import errno
import fcntl

FIFREEZE = 0xC0045877
"""``_IOWR('X', 119, int)``."""
FITHAW = 0xC0045878
"""``_IOWR('X', 120, int)``."""


def checkpoint(root_fd: int) -> bool:
    """Write every dirty block of the filesystem home; False where it cannot be frozen
    (not root, or a filesystem without freeze support, e.g. FUSE). Freezing syncs the
    filesystem itself first."""
    try:
        fcntl.ioctl(root_fd, FIFREEZE, 0)
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL):
            return False
        raise
    fcntl.ioctl(root_fd, FITHAW, 0)
    return True
