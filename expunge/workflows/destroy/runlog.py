"""The log of a destruction in progress, so that a killed run still ends with its record.

A destruction overwrites, verifies, removes, and only then signs its certificate and
records it in the ledger. A run killed in between (SIGKILL, a power cut) would leave files
destroyed with no certificate and documents still "registered". So before the first byte
is written, the run opens ``<home>/runs/<id>.log`` and appends one JSON line, synced,
at every step that matters:

- ``run``: what was asked (target, method, verification, keep), the documents confirmed
  at the paths (their digests), where the certificate goes;
- ``file``: a file about to be overwritten (its identity and, for a new wipe, its wipe
  journal: the passes and their keys, the final pass's being the verification seed);
- ``journal``: that journal as it changed (a pass durable, a checkpoint): see
  ``logged_journal``;
- ``verified``: its read-back, before its name is touched;
- ``removed`` / ``remove-failed``: what became of its name;
- ``certified``: where the certificate is being written (then the ledger is recorded).

The log is removed once the ledger has recorded the certificate. The running process
holds an exclusive ``flock`` on it: a log nobody holds belongs to a run that died, and
``recover`` finishes it. Reading a log back is ``logged_run``'s job, imported only when
a dead run left one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from expunge.core import paths
from expunge.core.clock import rfc3339, utc_now
from expunge.core.config import Home
from expunge.core.errors import IntegrityError, TargetError
from expunge.core.groupsync import GroupSync
from expunge.core.reserve import SpaceReserve
from expunge.shred.journal import JournalRecord
from expunge.shred.report import Limitation, TargetIdentity
from expunge.workflows import records
from expunge.workflows.destroy.request import ShredRequest

SUFFIX = ".log"


def runs_folder(home: Home) -> Path:
    """Where the logs of runs in progress live."""
    return home.runs


def header_for(
    request: ShredRequest, target: str, kind: str, cert_out: Path | None
) -> dict[str, Any]:
    """The ``run`` line of a run log: what recovery needs to certify the run as asked."""
    method = request.method
    return {
        **paths.path_fields(target, "target"),
        "kind": kind,
        "method": {
            "name": method.name,
            "passes": list(method.passes),
            "source": method.source,
            "note": method.note,
            "shuffle": list(method.shuffle) if method.shuffle else None,
        },
        "verify": {
            "mode": str(request.verify.mode),
            "coverage": request.verify.coverage,
            "every_pass": request.verify.every_pass,
        },
        "keep": request.keep,
        "cert_out": str(cert_out) if cert_out else None,
        "started": rfc3339(utc_now()),
    }


def documents_header(
    registered: Mapping[str, tuple[records.RegisteredLocation, ...]],
) -> list[dict[str, Any]]:
    """The ``documents`` of a run log's header: what the ledger knew at these paths."""
    return [
        {
            **paths.path_fields(path),
            "locations": [
                {
                    "doc_id": loc.doc_id,
                    "classification": loc.classification,
                    "seq": loc.seq,
                    "kind": loc.kind,
                    "expected_digest": loc.expected_digest,
                }
                for loc in locations
            ],
        }
        for path, locations in registered.items()
    ]


def logged_target(header: Mapping[str, Any]) -> str:
    """The target a run log's header names."""
    return paths.from_fields(str(header["target"]), header.get("target_bytes"))


def reserve_record(home: Home, files: int, documents: int) -> SpaceReserve:
    """Take, before the first write, the room the record of destroying ``files`` files
    (``documents`` of them registered) needs: journals and this log while it runs, then
    the certificate and the ledger's entries (which carry the certificate)."""
    certificate = 8192 + 2048 * files
    during = (8192 + 1536) * files  # journals (log lines, or files rewritten via a copy)
    ledger = documents * (certificate + 4096) * 3 + (256 << 10)  # pages, WAL, shared memory
    hold = certificate + ledger
    home.ensure()
    return SpaceReserve.take(home.root, hold, hold + during, "the record of this destruction")


class RunLog:
    """An open, locked run log; append steps with ``step``, end with ``finish``."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        # The files of a tree in flight at once each sync their steps: one sync covers
        # the lines of every thread written before it began (``groupsync``).
        self._syncs = GroupSync()

    @classmethod
    def create(cls, home: Home, header: Mapping[str, Any]) -> RunLog:
        """Start the log of a run (before its first write), holding it locked.

        It is written under a temporary name and renamed into place already locked and
        holding its header, so no other process ever sees it unheld and empty.
        """
        folder = runs_folder(home)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = os.urandom(8).hex()  # as secrets.token_hex(8), without importing hashlib
        staging = folder / f".{name}.tmp"
        path = folder / f"{name}{SUFFIX}"
        try:
            fd = os.open(
                staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600
            )
        except OSError as exc:
            raise TargetError(
                f"cannot start the run's log: {exc.strerror}",
                target=str(path),
                remedy="check free space and permissions of the home folder; nothing was written",
            ) from None
        log = cls(path, fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            log.step({"type": "run", **header})
            os.rename(staging, path)
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            log.close()
            with contextlib.suppress(OSError):
                staging.unlink()
            raise TargetError(
                f"cannot start the run's log: {exc.strerror}",
                target=str(path),
                remedy="check free space and permissions of the home folder; nothing was written",
            ) from None
        return log

    def step(self, record: Mapping[str, Any], *, durable: bool = True) -> None:
        """Append one step and, if ``durable``, make it durable before going on."""
        # One line per step, read back by ``json.loads``: no canonical form needed (the
        # log is never signed), and the standard encoder costs a tenth of RFC 8785's.
        line = json.dumps(dict(record), sort_keys=True, separators=(",", ":"), allow_nan=False)
        os.write(self._fd, line.encode() + b"\n")
        if durable:
            self.sync()

    def file(
        self,
        identity: TargetIdentity,
        limitations: Sequence[Limitation],
        digest: str | None,
        journal: JournalRecord | None = None,
    ) -> None:
        """A file is about to be overwritten: what it is, what the overwrite cannot promise,
        the digest of its content read just before, and the journal of its new wipe (a
        resumed wipe has its journal file)."""
        self.step(
            {
                "type": "file",
                **paths.path_fields(identity.path),
                "device": identity.device,
                "inode": identity.inode,
                "size": identity.size,
                "filesystem": identity.filesystem,
                "limitations": [lim.to_dict() for lim in limitations],
                "digest": digest,
                **({} if journal is None else {"journal": journal.to_dict()}),
            }
        )

    def journal(self, record: JournalRecord, *, durable: bool = True) -> None:
        """The wipe journal of a logged file, as it now is (what its file would hold)."""
        self.path_step("journal", record.target.path, durable=durable, record=record.to_dict())

    def sync(self) -> None:
        """Make every step written so far durable."""
        self._syncs.sync(lambda: os.fdatasync(self._fd))

    def path_step(self, kind: str, path: str, *, durable: bool = True, **extra: Any) -> None:
        """A step about the file at ``path`` (``verified``, ``removed``, ``remove-failed``)."""
        self.step({"type": kind, **paths.path_fields(path), **extra}, durable=durable)

    def certifying(self, path: Path) -> None:
        """The certificate is about to be written at ``path``: a run that dies from here on
        is certified by that file, if it is there (never by a second certificate)."""
        self.step({"type": "certified", "certificate": str(path)})

    def finish(self) -> None:
        """The run is certified and recorded: its log goes."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.close()

    def close(self) -> None:
        """Release the lock (a log left behind is recovered by the next command)."""
        with contextlib.suppress(OSError):
            os.close(self._fd)


@contextlib.contextmanager
def abandoned_logs(home: Home) -> Iterator[Sequence[tuple[Path, int]]]:
    """The logs of runs that died, each locked for the caller while it recovers them; logs
    still held by a running process are left alone."""
    folder = runs_folder(home)
    held: list[tuple[Path, int]] = []
    try:
        for path in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else ():
            try:
                fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # a live run
                continue
            held.append((path, fd))
        yield held
    finally:
        for _, fd in held:
            with contextlib.suppress(OSError):
                os.close(fd)


def pending_digests(home: Home) -> dict[tuple[str, int, int], str]:
    """The content digests logged by runs that died before finishing a file, by
    ``(path, device, inode)``: what a resumed overwrite confirms its document with (the
    content it finds now is already partly overwritten)."""
    found: dict[tuple[str, int, int], str] = {}
    folder = runs_folder(home)
    for path in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else ():
        from expunge.workflows.destroy.logged_run import read_log

        try:
            run = read_log(path)
        except IntegrityError:
            continue
        for steps in run.files if run is not None else ():
            ident = steps.identity
            if steps.digest is not None:
                found[(ident.path, ident.device, ident.inode)] = steps.digest
    return found


def drop_spent_logs(home: Home) -> None:
    """Remove the logs of dead runs that have nothing left: no certificate to record and
    no file whose journal is still pending (a ``--resume`` finished them)."""
    with abandoned_logs(home) as logs:
        for path, _ in logs:
            from expunge.workflows.destroy.logged_run import journal_of, read_log

            try:
                run = read_log(path)
            except IntegrityError:
                continue
            spent = run is None or (
                run.certificate is None
                and all(journal_of(home.journal, f) is None for f in run.files)
            )
            if spent:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
