"""Whole drives: wipe several at once, verify and certify each; and the hot-plug station.

Layer 2. For every drive the order is fixed: open it exclusively right before the first
write (``drives.open_for_wipe`` re-reads size and diskseq through the descriptor and
re-runs the interlocks), overwrite it with the same engine as files (``O_DIRECT`` from
page-aligned buffers where the kernel takes it, in multiples of the logical block size),
read it back with ``O_DIRECT``, and sign one certificate per drive. A refused drive is
reported with its reason: nothing is written to it and no certificate is issued.

Drives wipe in parallel, one worker thread each: AES-CTR, BLAKE3 and the I/O release the
GIL, so several drives take about as long as the slowest. One drive's failure never stops
the others.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from expunge.certificates import Media
from expunge.certificates.subjects import DriveSubject
from expunge.core.clock import utc_now
from expunge.core.errors import (
    ExpungeError,
    RefusedError,
    TargetError,
    UsageError,
    VerificationError,
)
from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.drives import (
    Drive,
    DriveRefused,
    Identity,
    OpenDevice,
    Reason,
    WatchFilter,
    find_drive,
    interlock_reasons,
    list_drives,
    open_for_wipe,
    system_facts,
    watch_drives,
)
from expunge.shred.journal import JournalEvent, JournalTarget
from expunge.shred.methods import LUKS_ERASE, Method, is_crypto_erase, resolve
from expunge.shred.overwrite import PassOptions
from expunge.shred.report import Limitation, PassResult, TargetIdentity, WipeReport
from expunge.shred.resume import JournaledRun, journaled_passes
from expunge.verify import VerificationReport, VerifyOptions, make_plan, verify_fd
from expunge.workflows import certify, cryptoerase, records

DriveStatus = Literal["success", "failed", "partial", "interrupted", "refused"]

HDPARM_TIMEOUT_SECONDS = 10
# Station mode: how often the collector wakes to notice that the watcher and every wipe
# have ended, when no result arrives.
_STATION_POLL_SECONDS = 0.25
_HDPARM_MAX = re.compile(r"max sectors\s*=\s*(\d+)\s*/\s*(\d+)")


# ---------------------------------------------------------------- before the wipe


@dataclass(frozen=True)
class DriveCheck:
    """A drive as listed, with every reason it may not be wiped (none: it may)."""

    drive: Drive
    reasons: tuple[Reason, ...]

    @property
    def may_wipe(self) -> bool:
        """No interlock applies (they run again right before the first write)."""
        return not self.reasons

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the drive's facts, whether it may be wiped, and why not."""
        return {
            **self.drive.to_dict(),
            "may_wipe": self.may_wipe,
            "reasons": [r.to_dict() for r in self.reasons],
        }


def survey(
    home: Path,
    *,
    include_all: bool = False,
    allow_fixed: bool = False,
    include_virtual: bool = False,
) -> tuple[DriveCheck, ...]:
    """Removable and USB drives (every disk with ``include_all``), each with its interlocks.

    ``home`` is expunge's home folder: the disk holding it is never offered.
    """
    system = system_facts(home)
    return tuple(
        DriveCheck(
            d,
            interlock_reasons(d, system, allow_fixed=allow_fixed, include_virtual=include_virtual),
        )
        for d in list_drives(include_all=include_all)
    )


def check_drives(
    nodes: Sequence[str], home: Path, *, allow_fixed: bool = False, include_virtual: bool = False
) -> tuple[DriveCheck, ...]:
    """The whole disks named by ``nodes``, each with its interlocks, for confirmation.

    Refuses a name that is not a whole disk, and the same disk named twice.
    """
    system = system_facts(home)
    checks: list[DriveCheck] = []
    seen: dict[str, str] = {}
    for node in nodes:
        drive = find_drive(node)
        if drive.devnum in seen:
            raise UsageError(
                f"names the same disk as {seen[drive.devnum]}",
                target=node,
                remedy="name each drive once",
            )
        seen[drive.devnum] = node
        reasons = interlock_reasons(
            drive, system, allow_fixed=allow_fixed, include_virtual=include_virtual
        )
        checks.append(DriveCheck(drive, reasons))
    return tuple(checks)


# ---------------------------------------------------------------- what the medium allows


def is_flash(drive: Drive) -> bool:
    """Flash memory behind a controller: SSDs, USB sticks, memory cards.

    USB bridges often report ``rotational == 1`` for sticks, so a removable USB disk counts
    as flash whatever it reports.
    """
    if drive.virtual:
        return False
    return not drive.rotational or drive.bus == "mmc" or (drive.bus == "usb" and drive.removable)


def media_type(drive: Drive) -> str:
    """How the certificate names the medium (NIST "media type")."""
    if drive.virtual:
        return "virtual disk"
    if is_flash(drive):
        kind = {"usb": "USB flash drive", "mmc": "memory card", "nvme": "NVMe SSD"}
        return kind.get(drive.bus, "solid-state drive")
    return "USB hard disk drive" if drive.bus == "usb" else "hard disk drive"


def media_limitations(drive: Drive) -> tuple[Limitation, ...]:
    """What an overwrite of every addressable block cannot promise on this medium."""
    if drive.virtual:
        return (
            Limitation(
                "virtual-disk",
                "a virtual disk (loop, device-mapper, md): the overwrite reached what the "
                "device exposes; copies kept by the layer beneath (the backing file's "
                "filesystem, snapshots, caches) were not addressed",
                "wipe or crypto-erase the backing store as well",
            ),
        )
    if is_flash(drive):
        return (
            Limitation(
                "flash-media",
                "flash medium: remapped and over-provisioned blocks were not addressed "
                "(wear levelling may keep old copies the host cannot reach)",
                "for Purge use the drive's own sanitize or secure-erase command, or crypto-erase",
            ),
        )
    return ()


def parse_hdparm_max(text: str) -> tuple[int, int] | None:
    """``(visible, native)`` sectors from ``hdparm -N`` output, or ``None`` if absent."""
    match = _HDPARM_MAX.search(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def hidden_area_limitation(
    drive: Drive, hdparm_output: Callable[[str], str | None] | None = None
) -> Limitation:
    """What is known of areas the host cannot address (HPA, DCO), as a limitation.

    Only an ATA drive can be asked, with ``hdparm -N`` (a read-only query) when hdparm is
    installed; otherwise hidden areas are recorded as unknown. ``hdparm_output`` runs the
    query for a node and returns its output (``None`` when it could not run); by default
    it runs hdparm.
    """
    if drive.bus != "ata":
        return Limitation(
            "hidden-areas-unknown",
            f"hidden areas (HPA/DCO) unknown: a {drive.bus} drive cannot be asked for them",
            "if the drive may hide an area, check it on an ATA port with hdparm -N",
        )
    query = hdparm_output or _run_hdparm
    output = query(drive.node)
    sectors = parse_hdparm_max(output) if output is not None else None
    if sectors is None:
        return Limitation(
            "hidden-areas-unknown",
            "hidden areas (HPA/DCO) unknown: hdparm is not installed or gave no answer",
            "install hdparm so that expunge can check for a host protected area",
        )
    visible, native = sectors
    if native > visible:
        return Limitation(
            "hidden-area",
            f"a host protected area hides {native - visible} sectors beyond sector "
            f"{visible}: they were not overwritten; a DCO was not checked",
            f"remove the HPA (hdparm -N p{native} {drive.node}) and wipe again",
        )
    return Limitation(
        "hidden-areas-dco-unknown",
        "no host protected area (hdparm -N); a device configuration overlay was not checked",
        f"check with hdparm --dco-identify {drive.node}",
    )


def _run_hdparm(node: str) -> str | None:
    hdparm = shutil.which("hdparm")
    if hdparm is None:
        return None
    try:
        done = subprocess.run(
            [hdparm, "-N", node],
            capture_output=True,
            text=True,
            timeout=HDPARM_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


# ---------------------------------------------------------------- requests and results


@dataclass(frozen=True)
class DriveRequest:
    """One drive to wipe: as listed, as the operator confirmed it, and how to wipe it."""

    drive: Drive
    confirmed: Identity
    method: Method
    verify: VerifyOptions = field(default_factory=VerifyOptions)
    allow_fixed: bool = False
    include_virtual: bool = False
    then: Method | None = None
    """With ``-m luks-erase``: the overwrite of the whole volume after the erase."""
    resume: bool = False
    """Finish the interrupted wipe journaled for this drive (same medium only)."""
    on_error: Literal["continue", "abort"] = "continue"


@dataclass(frozen=True)
class DriveWipe:
    """One drive: what was written, what read-back found, and its certificate.

    ``problem`` is what stopped the drive from being wiped (a refusal: nothing written,
    no certificate) or what went wrong around the wipe (a read-back that could not run,
    a certificate that could not be written). ``drive`` holds the facts re-read after
    opening when the drive was opened, else as listed.
    """

    drive: Drive
    token: str
    started: datetime
    finished: datetime
    wipe: WipeReport | None = None
    verification: VerificationReport | None = None
    pass_verifications: tuple[VerificationReport, ...] = ()
    problem: ExpungeError | None = field(default=None, compare=False)
    certificate: certify.IssuedCertificate | None = None
    journal_events: tuple[JournalEvent, ...] = ()
    ledger_documents: tuple[str, ...] = ()

    @property
    def node(self) -> str:
        """The device node."""
        return self.drive.node

    @property
    def refused(self) -> bool:
        """Refused before anything was written."""
        return self.wipe is None and isinstance(self.problem, RefusedError)

    @property
    def verification_failed(self) -> bool:
        """A read-back found content other than what was written."""
        checks = (*self.pass_verifications, *(v for v in [self.verification] if v))
        return any(v.status == "failed" and not v.interrupted for v in checks)

    @property
    def status(self) -> DriveStatus:
        """``success`` only when every pass completed, read-back (if any) matched and the
        certificate was written; ``refused`` when nothing was written."""
        if self.wipe is None:
            return "refused" if self.refused else "failed"
        status = self.wipe.status
        if status != "success":
            return status
        checks = (*self.pass_verifications, *(v for v in [self.verification] if v))
        if any(v.interrupted for v in checks):
            return "interrupted"
        if any(v.status == "failed" for v in checks) or self.problem is not None:
            return "failed"
        return "success"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        reasons = self.problem.reasons if isinstance(self.problem, DriveRefused) else ()
        return {
            "node": self.node,
            "identity_token": self.token,
            "status": self.status,
            "drive": self.drive.to_dict(),
            "error": self.problem.diagnostics() if self.problem else None,
            "reasons": [r.to_dict() for r in reasons],
            "wipe": self.wipe.to_dict() if self.wipe else None,
            "verification": self.verification.to_dict() if self.verification else None,
            "pass_verifications": [v.to_dict() for v in self.pass_verifications],
            "certificate": str(self.certificate.path) if self.certificate else None,
            "ledger_documents_destroyed": list(self.ledger_documents),
            "certificate_outcome": self.certificate.outcome if self.certificate else None,
        }


# ---------------------------------------------------------------- one drive


@contextmanager
def _closed_on_error(device: OpenDevice) -> Iterator[None]:
    """Close ``device`` if the block raises (a refusal after opening)."""
    try:
        yield
    except BaseException:
        device.close()
        raise


def _open(request: DriveRequest, home: Path) -> OpenDevice | DriveWipe:
    """The drive opened for writing, or why it was not (as a result: nothing written)."""
    started = utc_now()
    try:
        device = open_for_wipe(
            request.drive,
            request.confirmed,
            home=home,
            allow_fixed=request.allow_fixed,
            include_virtual=request.include_virtual,
        )
        if is_crypto_erase(request.method):
            with _closed_on_error(device):
                cryptoerase.check_luks_volume(device.fd, device.node)
        return device
    except ExpungeError as exc:
        problem = exc
    except OSError as exc:
        problem = TargetError(
            f"cannot read the device's identity: {exc.strerror}",
            target=request.drive.node,
            remedy="check the drive and its connection",
        )
    return DriveWipe(request.drive, request.confirmed.token, started, utc_now(), problem=problem)


@dataclass
class _Worker:
    """Overwrites, reads back and certifies one opened drive."""

    device: OpenDevice
    request: DriveRequest
    station: certify.Station
    progress: ProgressSink
    stop: StopRequest | None
    errors: list[str] = field(default_factory=list)

    def read_back(self, result: PassResult) -> VerificationReport | None:
        """The drive read back against ``result``'s pattern; errors recorded, not raised."""
        device, verify = self.device, self.request.verify
        try:
            plan = make_plan(
                device.size, verify.mode, coverage=verify.coverage, align=device.logical_block_size
            )
            return verify_fd(
                device.fd,
                result.pattern,
                plan,
                progress=self.progress,
                task=f"{device.node} verify",
                stop=self.stop,
                name=device.node,
            )
        except ExpungeError as exc:
            self.errors.append(f"read-back of pass {result.index}: {exc.diagnostics()}")
        except OSError as exc:
            self.errors.append(f"read-back of pass {result.index}: {exc.strerror}")
        return None

    def options(self) -> PassOptions:
        """How passes write to this drive."""
        device = self.device
        return PassOptions(
            block_size=device.logical_block_size,
            buffered=not device.direct,
            progress=self.progress,
            task=device.node,
            stop=self.stop,
        )

    def run_luks(self, started: datetime) -> DriveWipe:
        """Crypto-erase the LUKS volume (then ``--then``), close the drive, certify it."""
        device, request = self.device, self.request
        drive = device.drive
        with device:
            limitations = (*media_limitations(drive), hidden_area_limitation(drive))
            work = cryptoerase.erase_luks(
                device.fd,
                device.node,
                device.size,
                self.options(),
                then=request.then,
                read_back=self.read_back if request.verify.mode != "none" else None,
            )
            identity = _identity(device)
        wipe = WipeReport(
            identity=identity,
            method=LUKS_ERASE.name,
            passes=work.passes,
            planned_passes=1 + work.then_planned,
            limitations=limitations,
            errors=(*self.errors, *work.errors),
        )
        failed = None
        if work.report.status == "failed":
            failed = VerificationError(
                "the erased LUKS metadata did not read back as written",
                target=device.node,
                remedy="wipe it again, or overwrite the whole drive",
            )
        done = DriveWipe(
            drive=drive,
            token=request.confirmed.token,
            started=started,
            finished=utc_now(),
            wipe=wipe,
            verification=work.then_check,
            problem=failed,
        )
        interrupted_by = None
        if done.status == "interrupted":
            interrupted_by = (self.stop.reason if self.stop is not None else None) or "stopped"
        errors = [*wipe.errors, *(f"pass {p.index}: {p.error}" for p in wipe.passes if p.error)]
        draft = certify.CertificateDraft(
            target=drive.node,
            started=done.started,
            finished=done.finished,
            media=_media(drive),
            sanitization=certify.luks_sanitization(work, request.verify.mode),
            subjects=(certify.luks_record(work, _subject(done, wipe.identity.size)),),
            limitations=(
                *certify.luks_limitations(work, drive.node),
                *(certify.limitation_record(lim, drive.node) for lim in wipe.limitations),
            ),
            errors=certify.error_records(errors, drive.node),
            interrupted_by=interrupted_by,
            notes=f"LUKS crypto-erase of the drive; identity confirmed as {done.token}",
        )
        return self.issue(done, draft)

    def issue(self, done: DriveWipe, draft: certify.CertificateDraft) -> DriveWipe:
        """Sign the certificate of ``done``, and mark the ledger's copies on it destroyed.

        A failure to write the certificate is the drive's problem. With a ledger, the
        certificate records the ledger's head, and a success marks every copy recorded on
        this medium (by identity token) destroyed, citing the certificate.
        """
        store = records.existing_ledger(self.station.home)
        try:
            if store is not None:
                draft = replace(draft, ledger_anchor=records.current_anchor(store))
            issued = certify.issue(draft, self.station)
            documents: tuple[str, ...] = ()
            if store is not None and issued.outcome == "success":
                documents = records.record_medium_destroyed(
                    store,
                    done.token,
                    issued,
                    actor=self.station.settings.operator,
                    now=utc_now(),
                )
        except ExpungeError as exc:
            return replace(done, problem=exc)
        except OSError as exc:
            problem = TargetError(
                f"the certificate could not be written: {exc.strerror}",
                target=str(self.station.home.certificates),
                remedy="the drive was wiped; free space or fix permissions and wipe it again",
            )
            return replace(done, problem=problem)
        finally:
            if store is not None:
                store.close()
        return replace(done, certificate=issued, ledger_documents=documents)

    def run(self, started: datetime) -> DriveWipe:
        """Overwrite, read back, close the drive, then sign its certificate."""
        if is_crypto_erase(self.request.method):
            return self.run_luks(started)
        device, request, verify = self.device, self.request, self.request.verify
        drive = device.drive
        with device:
            limitations = (*media_limitations(drive), hidden_area_limitation(drive))
            passes = resolve(request.method)
            options = replace(self.options(), on_error=request.on_error)
            every = verify.every_pass and verify.mode != "none"
            checks: list[VerificationReport | None] = []
            after = (lambda r: checks.append(self.read_back(r))) if every else None
            results: tuple[PassResult, ...] = ()
            journaled: JournaledRun | None = None
            try:
                journaled = journaled_passes(
                    device.fd,
                    _journal_target(device),
                    request.method,
                    self.station.home.journal,
                    options,
                    resume=request.resume,
                    stop=self.stop,
                    after_pass=after,
                )
                results = journaled.passes
            except ExpungeError as exc:
                # A pending or foreign journal: refused before the first write.
                return DriveWipe(drive, request.confirmed.token, started, utc_now(), problem=exc)
            except OSError as exc:
                self.errors.append(f"writing stopped: {exc.strerror}")
            complete = len(results) == len(passes) and all(p.complete for p in results)
            final: VerificationReport | None = None
            if every and checks and len(checks) == len(results):
                final = checks.pop()
            elif complete and verify.mode != "none" and not every:
                final = self.read_back(results[-1])
            identity = _identity(device)
        wipe = WipeReport(
            identity=identity,
            method=request.method.name,
            passes=results,
            planned_passes=len(passes),
            limitations=limitations,
            errors=tuple(self.errors),
        )
        done = DriveWipe(
            drive=drive,
            token=request.confirmed.token,
            started=started,
            finished=utc_now(),
            wipe=wipe,
            verification=final,
            pass_verifications=tuple(v for v in checks if v is not None),
            journal_events=journaled.events if journaled else (),
        )
        certified = self.issue(done, _draft(done, wipe, request, self.stop))
        if journaled is not None and certified.certificate and done.status != "interrupted":
            # Certified with a final outcome: nothing is left to resume.
            journaled.journal.complete()
        return certified


def _journal_target(device: OpenDevice) -> JournalTarget:
    """The drive as its wipe journal identifies it: a re-attached or other medium differs."""
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        boot_id = ""
    return JournalTarget.from_identity(
        _identity(device),
        diskseq=device.diskseq,
        serial=device.drive.serial or "",
        boot_id=boot_id,
    )


def _identity(device: OpenDevice) -> TargetIdentity:
    st = os.fstat(device.fd)
    return TargetIdentity(
        path=device.node, kind="device", size=device.size, device=st.st_rdev, inode=st.st_ino
    )


def _subject(done: DriveWipe, device_size: int) -> DriveSubject:
    drive = done.drive
    return DriveSubject(
        node=drive.node,
        vendor=drive.vendor or "",
        model=drive.model or "",
        serial=drive.serial,
        wwn=drive.wwn,
        size=device_size,
        logical_block_size=drive.logical_block_size,
        bus=drive.bus,
        removable=drive.removable,
        rotational=drive.rotational,
        identity_token=done.token,
    )


def _media(drive: Drive) -> Media:
    return Media(
        manufacturer=drive.vendor or "",
        model=drive.model or "",
        serial=drive.serial or "",
        media_type=media_type(drive),
        source="",
        classification="",
    )


def _draft(
    done: DriveWipe, wipe: WipeReport, request: DriveRequest, stop: StopRequest | None
) -> certify.CertificateDraft:
    drive = done.drive
    checks = [(v, i) for i, v in enumerate(done.pass_verifications)]
    if done.verification is not None:
        checks.append((done.verification, len(wipe.passes) - 1))
    subject = _subject(done, wipe.identity.size)
    codes = {lim.code for lim in wipe.limitations}
    note = ""
    if "flash-media" in codes:
        note = "; the medium is flash: remapped and over-provisioned blocks were not addressed"
    elif "virtual-disk" in codes:
        note = "; a virtual disk: layers beneath it were not addressed"
    errors = [*wipe.errors, *(f"pass {p.index}: {p.error}" for p in wipe.passes if p.error)]
    interrupted_by = None
    if done.status == "interrupted":
        gone = [p.error for p in wipe.passes if p.interrupted and p.error]
        stopped = stop.reason if stop is not None and stop.is_set() else None
        interrupted_by = stopped or (gone[0] if gone else "stopped")
    return certify.CertificateDraft(
        target=drive.node,
        started=done.started,
        finished=done.finished,
        media=_media(drive),
        sanitization=certify.sanitization(request.method, request.verify.mode, note),
        subjects=(certify.subject_record(subject, wipe, checks, None),),
        limitations=tuple(certify.limitation_record(lim, drive.node) for lim in wipe.limitations),
        errors=certify.error_records(errors, drive.node),
        interrupted_by=interrupted_by,
        notes="; ".join(
            [
                f"whole drive; identity confirmed as {done.token}",
                *certify.journal_notes(done.journal_events, drive.node),
            ]
        ),
    )


# ---------------------------------------------------------------- several drives


def wipe_drives(
    requests: Sequence[DriveRequest],
    station: certify.Station,
    *,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
) -> tuple[DriveWipe, ...]:
    """Wipe, verify and certify every drive of ``requests`` at once; results in input order.

    Every drive is opened (and so checked again) before the first byte is written to any;
    a refused drive gets a result with its refusal and no certificate. The station key is
    loaded once at least one drive is open, so a wrong passphrase refuses before anything
    is written. Then one worker thread per drive overwrites, reads back and certifies it;
    one drive's failure does not stop the others. ``stop`` ends every wipe after its
    current buffer; what was done is certified as interrupted.
    """
    nodes = [r.drive.node for r in requests]
    for node in nodes:
        if nodes.count(node) > 1:
            raise UsageError("is named twice", target=node, remedy="name each drive once")
    results: dict[int, DriveWipe] = {}
    opened: dict[int, OpenDevice] = {}
    starts: dict[int, datetime] = {}
    try:
        for index, request in enumerate(requests):
            starts[index] = utc_now()
            outcome = _open(request, station.home.root)
            if isinstance(outcome, DriveWipe):
                results[index] = outcome
            else:
                opened[index] = outcome
        if opened:
            station.ready()
    except BaseException:
        for device in opened.values():
            device.close()
        raise
    crashes: list[BaseException] = []

    def work(index: int, device: OpenDevice) -> None:
        try:
            worker = _Worker(device, requests[index], station, progress, stop)
            results[index] = worker.run(starts[index])
        except BaseException as exc:  # a bug: re-raised once every other drive is done
            crashes.append(exc)
        finally:
            device.close()

    threads = [
        threading.Thread(target=work, args=(i, d), name=f"wipe {d.node}") for i, d in opened.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if crashes:
        raise crashes[0]
    return tuple(results[i] for i in range(len(requests)))


# ---------------------------------------------------------------- station mode


@dataclass(frozen=True)
class StationPlan:
    """What a wiping station takes, and how it wipes.

    ``filters`` choose among drives that appear; ``max_size`` (bytes) leaves larger ones
    alone; ``once`` stops watching after the first drive taken.
    """

    method: Method
    verify: VerifyOptions = field(default_factory=VerifyOptions)
    filters: WatchFilter = field(default_factory=WatchFilter)
    max_size: int | None = None
    allow_fixed: bool = False
    once: bool = False

    def takes(self, drive: Drive) -> bool:
        """Whether a drive that passed ``filters`` is within ``max_size``."""
        return self.max_size is None or drive.size <= self.max_size


@dataclass(frozen=True)
class _Taken:
    """The watcher took a drive; its result follows."""


@dataclass(frozen=True)
class _WatchEnded:
    """The watcher stopped taking drives."""

    error: BaseException | None = None


def run_station(
    plan: StationPlan,
    station: certify.Station,
    *,
    stop: StopRequest,
    progress: ProgressSink = NULL_PROGRESS,
) -> Iterator[DriveWipe]:
    """Watch for drives and wipe each one that appears and passes the filters.

    Listening has begun when this call returns. Each drive is confirmed as it appeared
    (its identity when the kernel announced it) and wiped like ``wipe_drives`` wipes it,
    several at once, without prompting: the caller asked for that. Results are yielded as
    drives finish. The iterator ends when ``stop`` is set (in-flight wipes stop after their
    current buffer and are certified as interrupted) or, with ``once``, after the first
    drive; iterate it to the end.
    """
    station.ready()
    appeared = watch_drives(filters=plan.filters, stop=stop)
    events: queue.Queue[DriveWipe | _Taken | _WatchEnded | BaseException] = queue.Queue()

    def wipe(request: DriveRequest) -> None:
        try:
            events.put(wipe_drives([request], station, progress=progress, stop=stop)[0])
        except BaseException as exc:
            events.put(exc)

    def watch() -> None:
        try:
            for drive in appeared:
                if not plan.takes(drive):
                    continue
                request = DriveRequest(
                    drive,
                    Identity.from_drive(drive),
                    plan.method,
                    plan.verify,
                    allow_fixed=plan.allow_fixed,
                    include_virtual=plan.filters.include_virtual,
                )
                events.put(_Taken())
                threading.Thread(target=wipe, args=(request,), name=f"wipe {drive.node}").start()
                if plan.once:
                    break
        except BaseException as exc:
            events.put(_WatchEnded(exc))
        else:
            events.put(_WatchEnded())

    threading.Thread(target=watch, name="drive watch", daemon=True).start()
    return _collect(events, stop)


def _collect(
    events: queue.Queue[DriveWipe | _Taken | _WatchEnded | BaseException], stop: StopRequest
) -> Iterator[DriveWipe]:
    watching, active = True, 0
    failure: BaseException | None = None
    while watching or active:
        try:
            event = events.get(timeout=_STATION_POLL_SECONDS)
        except queue.Empty:
            continue
        if isinstance(event, _Taken):
            active += 1
        elif isinstance(event, _WatchEnded):
            watching = False
            failure = failure or event.error
        elif isinstance(event, DriveWipe):
            active -= 1
            yield event
        else:
            # A bug in one wipe: stop the others cleanly, then report it.
            active -= 1
            failure = failure or event
            stop.request("internal error")
    if failure is not None:
        raise failure
