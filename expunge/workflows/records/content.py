"""A document's content as the ledger records it: size and BLAKE3, read through one descriptor."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from typing import Any

import blake3

from expunge.core.errors import TargetError
from expunge.shred.files import target_error

_READ_CHUNK = 4 << 20


@dataclass(frozen=True)
class FileContent:
    """A file's size and BLAKE3 digest, read through one descriptor."""

    path: str
    size: int
    digest: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"path": self.path, "size": self.size, "digest": self.digest}


def read_content(path: str) -> FileContent:
    """Size and BLAKE3 of the regular file at ``path`` (made absolute; a symlink is
    refused, not followed)."""
    path = os.path.abspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise TargetError(
                "is a symbolic link", target=path, remedy="name the file it points to"
            ) from None
        raise target_error(exc, path) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise TargetError(
                "not a regular file", target=path, remedy="documents are regular files"
            )
        hasher = blake3.blake3()
        while chunk := os.read(fd, _READ_CHUNK):
            hasher.update(chunk)
    except OSError as exc:
        raise target_error(exc, path) from None
    finally:
        os.close(fd)
    return FileContent(path, st.st_size, hasher.hexdigest())
