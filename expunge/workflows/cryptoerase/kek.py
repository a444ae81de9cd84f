"""The station's key-encryption key, which wraps every sealed document's key."""

from __future__ import annotations

import contextlib
import os
import stat

from expunge.core.atomic import write_new
from expunge.core.config import Home
from expunge.core.errors import IntegrityError, RefusedError, TargetError
from expunge.shred import sealing

_KEK_MODE = 0o600


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
