"""One drive: opened (and so checked again) right before the first write, overwritten or
crypto-erased, read back, closed, then certified."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from expunge.core.clock import utc_now
from expunge.core.errors import ExpungeError, TargetError, VerificationError
from expunge.core.outcome import Outcome
from expunge.core.progress import StopRequest
from expunge.drives import (
    Drive,
    OpenDevice,
    hidden_area_limitation,
    media_limitations,
    open_for_wipe,
)
from expunge.drives.identify.probe import probe_drive
from expunge.drives.sanitize import CommandExecutor, IoctlExecutor
from expunge.shred.journal import JournalEvent, JournalTarget, find_journal
from expunge.shred.methods import LUKS_ERASE, is_crypto_erase, is_device_sanitize, resolve
from expunge.shred.overwrite import PassOptions
from expunge.shred.report import Limitation, PassResult, TargetIdentity, WipeReport
from expunge.shred.resume import JournaledRun, journaled_passes
from expunge.verify import VerificationReport, VerifyMode, make_plan, verify_fd
from expunge.workflows import certify, cryptoerase
from expunge.workflows.drive_wipe.certificate import issue
from expunge.workflows.drive_wipe.events import EventSink, PassDone, Started, Verifying
from expunge.workflows.drive_wipe.hidden import opened_hidden_area
from expunge.workflows.drive_wipe.model import DriveRequest, DriveWipe
from expunge.workflows.drive_wipe.sanitize import sanitize_wipe
from expunge.workflows.drive_wipe.tracker import Course, JobPlan, JobTracker

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def open_drive(request: DriveRequest, home: Path) -> OpenDevice | DriveWipe:
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
        if not is_device_sanitize(request.method):
            # Health and hidden areas for the certificate (the sanitize flow asks itself).
            profile = probe_drive(device.drive, IoctlExecutor(device.fd, device.node))
            device.drive = replace(device.drive, profile=profile)
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


@dataclass(frozen=True)
class _Overwrite:
    """What the passes left: their results, their read-backs, and the journal that ran them."""

    journaled: JournaledRun | None
    passes: tuple[PassResult, ...]
    planned: int
    final: VerificationReport | None
    pass_checks: tuple[VerificationReport, ...]


@dataclass
class Worker:
    """Wipes, reads back and certifies one opened drive, telling ``events`` how it goes;
    errors that do not stop the wipe are collected in ``errors`` for its report."""

    device: OpenDevice
    request: DriveRequest
    station: certify.Station
    events: EventSink
    stop: StopRequest | None
    errors: list[str] = field(default_factory=list)
    executor: CommandExecutor | None = None
    """Carries the drive's own commands (sanitize, hidden areas); the ioctls by default."""
    tracker: JobTracker = field(init=False)
    target: JournalTarget | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.tracker = JobTracker(self.device.node, self.plan(), self.events, self.course)

    def run(self, started: datetime) -> DriveWipe:
        """Wipe and read back the drive, close it, then sign its certificate."""
        method, device = self.request.method, self.device
        self.events.emit(
            Started(
                at=utc_now(),
                node=device.node,
                drive=device.drive,
                token=self.request.confirmed.token,
                method=method.name,
                passes=self.tracker.plan.passes,
            )
        )
        if is_device_sanitize(method):
            return sanitize_wipe(
                device, self.request, self.station, started,
                progress=self.tracker.writing, stop=self.stop, executor=self.executor,
            )  # fmt: skip
        if is_crypto_erase(method):
            return self.run_luks(started)
        return self.run_overwrite(started)

    def plan(self) -> JobPlan:
        """What this job writes and reads back, for the time left of its progress."""
        request, size = self.request, self.device.size
        crypto = is_crypto_erase(request.method)
        if crypto:
            passes = 1 + (len(request.then.passes) if request.then else 0)
        else:
            passes = request.method.pass_count
        verify = request.verify
        checked = verify.mode != VerifyMode.NONE and (not crypto or request.then is not None)
        try:
            planned = make_plan(
                size, verify.mode, coverage=verify.coverage, align=self.device.logical_block_size
            ).bytes_planned
        except ExpungeError:
            planned = 0  # the read-back will say why it cannot run
        return JobPlan(passes, size, planned if checked else 0, verify.every_pass and not crypto)

    def course(self) -> Course:
        """Where this run's writing begins and its patterns: the wipe journal records both
        (a resumed pass, the byte dod-3 chose, Gutmann's shuffled order); a LUKS erase
        writes its metadata first."""
        if is_crypto_erase(self.request.method):
            return Course(1, ("LUKS metadata",))
        journal = find_journal(self.station.home.journal, self.target) if self.target else None
        if journal is None:
            return Course()
        first_pass, _offset = journal.record.resume_point
        return Course(first_pass, tuple(p.label for p in journal.record.passes))

    def run_overwrite(self, started: datetime) -> DriveWipe:
        """Overwrite the drive with the request's method, journaled so it can resume."""
        device, request = self.device, self.request
        with device:
            try:
                with opened_hidden_area(device, request.include_hidden_areas, self.executor):
                    limitations = _medium_limitations(device.drive)
                    written = self.overwrite()
                    identity = _identity(device)
            except ExpungeError as exc:
                # A pending or foreign journal, a hidden area that cannot be opened:
                # refused before the first write.
                return self.result(started, problem=exc)
        journaled = written.journaled
        wipe = self.report(
            identity, request.method.name, written.passes, written.planned, limitations
        )
        done = self.result(
            started,
            wipe=wipe,
            verification=written.final,
            pass_verifications=written.pass_checks,
            journal_events=journaled.events if journaled is not None else (),
        )
        certified = issue(done, self.overwrite_draft(done, wipe), self.station)
        if journaled is not None and certified.certificate and done.status != Outcome.INTERRUPTED:
            # Certified with a final outcome: nothing is left to resume.
            journaled.journal.complete()
        return certified

    def run_luks(self, started: datetime) -> DriveWipe:
        """Crypto-erase the LUKS volume (then ``--then``)."""
        device, request = self.device, self.request
        with device:
            limitations = _medium_limitations(device.drive)
            work = cryptoerase.erase_luks(
                device.fd,
                device.node,
                device.size,
                self.options(),
                then=request.then,
                read_back=self.read_back if request.verify.mode != VerifyMode.NONE else None,
            )
            identity = _identity(device)
        wipe = self.report(
            identity, LUKS_ERASE.name, work.passes, 1 + work.then_planned, limitations, work.errors
        )
        failed = None
        if work.report.status == "failed":
            failed = VerificationError(
                "the erased LUKS metadata did not read back as written",
                target=device.node,
                remedy="wipe it again, or overwrite the whole drive",
            )
        done = self.result(started, wipe=wipe, verification=work.then_check, problem=failed)
        return issue(done, self.luks_draft(done, wipe, work), self.station)

    def overwrite_draft(self, done: DriveWipe, wipe: WipeReport) -> certify.CertificateDraft:
        """The certificate draft of this drive's overwrite."""
        method, mode = self.request.method, self.request.verify.mode
        return certify.drive_overwrite_draft(done, wipe, method, mode, self.stop_reason)

    def luks_draft(
        self, done: DriveWipe, wipe: WipeReport, work: certify.LuksWork
    ) -> certify.CertificateDraft:
        """The certificate draft of this drive's LUKS crypto-erase."""
        mode = self.request.verify.mode
        return certify.drive_luks_draft(done, wipe, work, mode, self.stop_reason)

    @property
    def stop_reason(self) -> str | None:
        """Why the operator stopped the wipe, if they did."""
        return self.stop.reason if self.stop is not None and self.stop.is_set() else None

    def overwrite(self) -> _Overwrite:
        """Run the passes; each is read back with ``--verify-all``, else only the last one
        once every pass completed. The journal's refusal (a pending or foreign journal)
        raises, before the first write."""
        verify = self.request.verify
        every = verify.every_pass and verify.mode != VerifyMode.NONE
        checks: list[VerificationReport | None] = []

        def after(result: PassResult) -> None:
            self.pass_done(result)
            if every:
                checks.append(self.read_back(result))

        journaled = self.journaled(after)
        results = journaled.passes if journaled is not None else ()
        planned = len(resolve(self.request.method))
        complete = len(results) == planned and all(p.complete for p in results)
        final: VerificationReport | None = None
        if every and checks and len(checks) == len(results):
            final = checks.pop()
        elif complete and verify.mode != VerifyMode.NONE and not every:
            final = self.read_back(results[-1])
        pass_checks = tuple(v for v in checks if v is not None)
        return _Overwrite(journaled, results, planned, final, pass_checks)

    def journaled(self, after: Callable[[PassResult], None]) -> JournaledRun | None:
        """The passes, run under the drive's wipe journal; None when writing stopped on an
        I/O error before the journal could report (the error is recorded)."""
        options = replace(self.options(), on_error=self.request.on_error)
        self.target = _journal_target(self.device)
        try:
            return journaled_passes(
                self.device.fd,
                self.target,
                self.request.method,
                self.station.home.journal,
                options,
                resume=self.request.resume,
                stop=self.stop,
                after_pass=after,
            )
        except OSError as exc:
            self.errors.append(f"writing stopped: {exc.strerror}")
            return None

    def pass_done(self, result: PassResult) -> None:
        """Tell the events that pass ``result`` completed and was synced."""
        self.events.emit(
            PassDone(
                at=utc_now(),
                node=self.device.node,
                pass_index=result.index,
                passes=self.tracker.plan.passes,
                pattern=result.pattern.label,
                written=result.bytes_written - result.resumed_from,
                seconds=result.seconds,
            )
        )

    def read_back(self, result: PassResult) -> VerificationReport | None:
        """The drive read back against ``result``'s pattern; errors recorded, not raised."""
        device, verify = self.device, self.request.verify
        self.events.emit(
            Verifying(
                at=utc_now(),
                node=device.node,
                pass_index=self.tracker.current_pass,
                mode=str(verify.mode),
            )
        )
        try:
            plan = make_plan(
                device.size, verify.mode, coverage=verify.coverage, align=device.logical_block_size
            )
            return verify_fd(
                device.fd,
                result.pattern,
                plan,
                progress=self.tracker.verifying,
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
            progress=self.tracker.writing,
            task=device.node,
            stop=self.stop,
        )

    def report(
        self,
        identity: TargetIdentity,
        method: str,
        passes: tuple[PassResult, ...],
        planned: int,
        limitations: tuple[Limitation, ...],
        errors: tuple[str, ...] = (),
    ) -> WipeReport:
        """The wipe report of ``passes`` (of ``planned``), with the errors met on the way
        and ``errors`` of the method itself."""
        return WipeReport(
            identity=identity,
            method=method,
            passes=passes,
            planned_passes=planned,
            limitations=limitations,
            errors=(*self.errors, *errors),
        )

    def result(
        self,
        started: datetime,
        *,
        wipe: WipeReport | None = None,
        verification: VerificationReport | None = None,
        pass_verifications: tuple[VerificationReport, ...] = (),
        journal_events: tuple[JournalEvent, ...] = (),
        problem: ExpungeError | None = None,
    ) -> DriveWipe:
        """This drive's result, finished now, with the facts re-read when it was opened."""
        return DriveWipe(
            drive=self.device.drive,
            token=self.request.confirmed.token,
            started=started,
            finished=utc_now(),
            wipe=wipe,
            verification=verification,
            pass_verifications=pass_verifications,
            problem=problem,
            journal_events=journal_events,
        )


@contextmanager
def _closed_on_error(device: OpenDevice) -> Iterator[None]:
    """Close ``device`` if the block raises (a refusal after opening)."""
    try:
        yield
    except BaseException:
        device.close()
        raise


def _medium_limitations(drive: Drive) -> tuple[Limitation, ...]:
    """What the medium keeps from an overwrite, in the wipe report's terms."""
    found = (*media_limitations(drive), hidden_area_limitation(drive))
    return tuple(Limitation(f.code, f.text, f.remedy) for f in found)


def _journal_target(device: OpenDevice) -> JournalTarget:
    """The drive as its wipe journal identifies it: a re-attached or other medium differs."""
    try:
        boot_id = _BOOT_ID.read_text(encoding="ascii").strip()
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
