"""Crypto-erase of LUKS volumes: container files and, for drive wipes, block devices."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expunge.certificates.subjects import FileSubject
from expunge.core.clock import utc_now
from expunge.core.errors import ExpungeError, RefusedError, TargetError, VerificationError
from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.shred import luks
from expunge.shred.methods import Method, resolve
from expunge.shred.overwrite import PassOptions, run_passes
from expunge.shred.report import PassResult
from expunge.verify import VerificationReport
from expunge.workflows import certify
from expunge.workflows.certify.erase_work import LuksWork
from expunge.workflows.cryptoerase.medium import in_place_facts


def check_luks_volume(fd: int, name: str) -> luks.LuksLayout:
    """The layout of the LUKS volume open as ``fd``; refused (exit 3) when it is not LUKS
    or is open (a dm-crypt holder). Writes nothing."""
    layout = luks.read_layout(fd, name=name)
    luks.refuse_if_open(fd, name=name)
    return layout


@dataclass(frozen=True)
class LuksContainerErase:
    """``expunge shred -m luks-erase FILE``: the container (kept) and its certificate."""

    path: str
    work: LuksWork
    certificate: certify.IssuedCertificate

    @property
    def status(self) -> str:
        """The erase's status."""
        return self.work.status

    @property
    def failure(self) -> ExpungeError | None:
        """Why it did not succeed, as the error to exit with; ``None`` when it did."""
        if self.status == "success":
            return None
        return VerificationError(
            "the LUKS erase did not read back clean", target=self.path, remedy="run it again"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "path": self.path,
            "status": self.status,
            "luks": self.work.report.to_dict(),
            "then": [p.to_dict() for p in self.work.then_passes],
            "certificate": str(self.certificate.path),
            "certificate_outcome": self.certificate.outcome,
            # The category certified (Clear where the medium may keep the old header),
            # beside the method's own ("luks": ..., "nist_category").
            "category": self.certificate.certificate.sanitization.category.value,
        }


def _refuse_if_attached(st: os.stat_result, path: str) -> None:
    """A container behind a loop device may be opened through it at any moment."""
    key = luks.VolumeKey.from_stat(st)
    loops = [u.name for u in luks.read_block_uses() if u.backing == key]
    if loops:
        raise RefusedError(
            f"is attached to {', '.join(loops)}; nothing was written",
            target=path,
            remedy="close and detach it first (cryptsetup close NAME; losetup -d DEVICE)",
        )


def erase_luks_container(
    path: str,
    station: certify.Station,
    *,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
    cert_out: Path | None = None,
    accept_limitations: bool = False,
) -> LuksContainerErase:
    """Crypto-erase the LUKS container file at ``path`` (kept: only its keys are destroyed).

    Refused before any write when it is not a regular file, not LUKS, or open (attached to
    a loop device or mapped by dm-crypt), and, unless ``accept_limitations``, where an
    in-place overwrite cannot reach the old header (the checks of ``shred``: copy-on-write,
    data journaling, network filesystems...): there the old header survives on the medium,
    and an old passphrase opens it again. Accepted, the limitation is recorded and the
    erase is claimed as Clear; so it is on flash, where old pages may survive too.
    """
    path = os.path.abspath(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise TargetError(
            f"cannot open the container: {exc.strerror}",
            target=path,
            remedy="name an existing LUKS container file you may write",
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RefusedError(
                "is not a regular file; nothing was written",
                target=path,
                remedy="wipe block devices with 'expunge drive wipe -m luks-erase'",
            )
        layout = check_luks_volume(fd, path)
        _refuse_if_attached(st, path)
        facts = in_place_facts(fd)
        if facts.refused and not accept_limitations:
            first = facts.refused[0]
            raise RefusedError(
                f"an overwrite cannot reach the old LUKS header: {first.text}; nothing was written",
                target=path,
                remedy=f"{first.remedy}; or pass --accept-limitations to erase it anyway "
                "(certified as Clear)",
            )
        station.ready()
        started = utc_now()
        options = PassOptions(buffered=True, progress=progress, task=path, stop=stop)
        report = luks.luks_erase(fd, layout, options=options)
        finished = utc_now()
    finally:
        os.close(fd)
    work = LuksWork(report)
    subject = FileSubject(path, st.st_size, st.st_ino, st.st_dev, facts.filesystem)
    stopped = report.status == "interrupted" and stop is not None
    draft = certify.luks_container_draft(
        work,
        subject,
        started=started,
        finished=finished,
        interrupted_by=(stop.reason or "stopped") if stop is not None and stopped else None,
        medium=facts.blocking,
    )
    return LuksContainerErase(path, work, certify.issue(draft, station, cert_out))


def erase_luks(
    fd: int,
    name: str,
    size: int,
    options: PassOptions,
    *,
    then: Method | None = None,
    read_back: Callable[[PassResult], VerificationReport | None] | None = None,
) -> LuksWork:
    """Crypto-erase the LUKS volume open (read-write) as ``fd``, then overwrite all of it
    with ``then`` when given (read back with ``read_back``, after the last pass).

    Checked again on the descriptor first (not LUKS, or open: refused, nothing written).
    The overwrite runs only after the erase read back clean.
    """
    report = luks.luks_erase(fd, check_luks_volume(fd, name), options=options)
    planned = resolve(then) if then is not None else ()
    if not planned or report.status != "success":
        return LuksWork(report, then, (), len(planned))
    errors: list[str] = []
    results: tuple[PassResult, ...] = ()
    try:
        results = run_passes(fd, size, planned, options)
    except OSError as exc:
        errors.append(f"writing stopped: {exc.strerror}")
    complete = len(results) == len(planned) and all(p.complete for p in results)
    check = read_back(results[-1]) if complete and read_back is not None else None
    return LuksWork(report, then, results, len(planned), check, tuple(errors))
