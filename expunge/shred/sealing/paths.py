"""Sealed files on disk: staged beside their destination, published only when complete."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from expunge.core.errors import MediaIOError, TargetError
from expunge.shred.overwrite import PassOptions, WriteBuffer, write_pass
from expunge.shred.patterns import PassPattern
from expunge.shred.sealing.header import SealHeader, read_header
from expunge.shred.sealing.stream import SealInfo, UnsealInfo, seal_stream, unseal_stream


def _open_regular(name: str) -> int:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise _open_error(name, exc) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise TargetError("is not a regular file", target=name, remedy="name a file")
    os.set_blocking(fd, True)
    return fd


def _open_error(name: str, exc: OSError) -> TargetError:
    if exc.errno == errno.ENOENT:
        return TargetError("no such file", target=name, remedy="check the path")
    if exc.errno == errno.ELOOP:
        return TargetError(
            "is a symbolic link", target=name, remedy="name the file itself, not a link to it"
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return TargetError("permission denied", target=name, remedy="run as a user who may")
    return TargetError(f"cannot open: {exc.strerror or exc}", target=name)


class _Staged:
    """A temporary file beside the destination, published under its name only when complete."""

    def __init__(self, final: Path, overwrite: bool) -> None:
        self.final = final
        self.overwrite = overwrite
        self.name = f".{final.name}.{secrets.token_hex(6)}.partial"
        folder = str(final.parent)
        try:
            self.dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise _open_error(folder, exc) from exc
        if not overwrite and _exists(self.dir_fd, final.name):
            os.close(self.dir_fd)
            raise TargetError(
                "already exists", target=str(final), remedy="choose another name or remove it"
            )
        try:
            self.fd = os.open(
                self.name,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600,
                dir_fd=self.dir_fd,
            )
        except OSError as exc:
            os.close(self.dir_fd)
            raise _open_error(str(final.parent / self.name), exc) from exc

    def publish(self) -> None:
        """Make the content durable, then give it the final name (never half-written)."""
        os.fsync(self.fd)
        if self.overwrite:
            os.replace(self.name, self.final.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
        else:
            self._link_no_replace()
        os.fsync(self.dir_fd)

    def _link_no_replace(self) -> None:
        try:
            os.link(
                self.name,
                self.final.name,
                src_dir_fd=self.dir_fd,
                dst_dir_fd=self.dir_fd,
                follow_symlinks=False,
            )
        except FileExistsError as exc:
            raise TargetError(
                "already exists", target=str(self.final), remedy="choose another name or remove it"
            ) from exc
        except OSError as exc:
            # Filesystems without hard links (vfat, some FUSE): a rename, after a check.
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
                raise
            if _exists(self.dir_fd, self.final.name):
                raise TargetError(
                    "already exists",
                    target=str(self.final),
                    remedy="choose another name or remove it",
                ) from exc
            os.rename(self.name, self.final.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
            return
        os.unlink(self.name, dir_fd=self.dir_fd)

    def discard(self, *, shred: bool) -> None:
        """Remove the temporary file; with ``shred``, overwrite its content first.

        Best effort: the error that made us discard is the one the caller must see.
        """
        if shred:
            with contextlib.suppress(OSError):
                self._overwrite()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.name, dir_fd=self.dir_fd)

    def _overwrite(self) -> None:
        size = os.fstat(self.fd).st_size
        if size:
            buffer = WriteBuffer(min(4 << 20, (size + 4095) & ~4095))
            try:
                write_pass(self.fd, size, PassPattern.random(), 1, buffer, PassOptions())
            finally:
                buffer.close()
        os.ftruncate(self.fd, 0)

    def close(self) -> None:
        """Release both descriptors."""
        os.close(self.fd)
        os.close(self.dir_fd)


def _exists(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _io_error(name: str, exc: OSError) -> MediaIOError:
    return MediaIOError(
        f"I/O error: {exc.strerror or exc}", target=name, remedy="free space or fix the medium"
    )


_Info = TypeVar("_Info", SealInfo, UnsealInfo)


def _staged_copy(
    source: str,
    destination: str | os.PathLike[str],
    copy: Callable[[int, int], _Info],
    *,
    overwrite: bool,
    shred: bool,
) -> _Info:
    """Run ``copy(src_fd, dst_fd)`` from the file ``source`` into a file staged beside
    ``destination``, which gets that name only once complete and synced.

    On any failure the staged file is removed (overwritten first with ``shred``).
    """
    src = _open_regular(source)
    try:
        staged = _Staged(Path(destination), overwrite=overwrite)
        try:
            info = copy(src, staged.fd)
            staged.publish()
        except OSError as exc:
            staged.discard(shred=shred)
            raise _io_error(str(destination), exc) from exc
        except BaseException:
            staged.discard(shred=shred)
            raise
        finally:
            staged.close()
    finally:
        os.close(src)
    return info


def seal_to_path(
    plain_path: str | os.PathLike[str],
    sealed_path: str | os.PathLike[str],
    document_key: bytes,
    doc_id: str,
) -> SealInfo:
    """Seal the file ``plain_path`` into a new file ``sealed_path``, durably and atomically.

    ``sealed_path`` must not exist; it appears only once complete and synced, so the
    plaintext may be shredded as soon as this returns.
    """

    def seal(src: int, dst: int) -> SealInfo:
        return seal_stream(src, dst, document_key, doc_id)

    return _staged_copy(os.fspath(plain_path), sealed_path, seal, overwrite=False, shred=False)


def unseal_to_path(
    sealed_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    document_key: bytes,
    *,
    overwrite: bool = False,
) -> UnsealInfo:
    """Unseal ``sealed_path`` into ``out_path``: all of it, authenticated, or nothing.

    The plaintext goes to a temporary file (``O_EXCL``, mode 0600) in OUT's folder that is
    synced and renamed to OUT only after the final chunk authenticates. On any failure the
    temporary file is overwritten with a random pass and removed, so neither OUT nor stray
    plaintext is left behind. OUT must not exist unless ``overwrite``.
    """
    name = os.fspath(sealed_path)

    def unseal(src: int, dst: int) -> UnsealInfo:
        return unseal_stream(src, dst, document_key, name=name)

    return _staged_copy(name, out_path, unseal, overwrite=overwrite, shred=True)


def read_sealed_header(path: str | os.PathLike[str]) -> SealHeader:
    """The header of the sealed file at ``path`` (see ``read_header``)."""
    name = os.fspath(path)
    fd = _open_regular(name)
    try:
        return read_header(fd, name=name)
    finally:
        os.close(fd)
