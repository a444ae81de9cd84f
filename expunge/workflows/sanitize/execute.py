"""Running one of the drive's own operations: send the command, then poll the drive for
its progress until it says it is done.

Sanitize operations run inside the drive after the command returns, for seconds (crypto
erase) to hours (overwrite); the drive reports progress (NVMe Sanitize Status log, ATA
SANITIZE STATUS EXT, SCSI REQUEST SENSE), which goes to the progress sink. A stop request
ends the polling, not the operation: the drive finishes it on its own, and the result
says so. A drive that rejects the command has erased nothing: that is a refusal.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from expunge.core.errors import ExpungeError, RefusedError, TargetError
from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.drives.identify import DriveProfile
from expunge.drives.identify import profile as ops
from expunge.drives.identify.nvme import parse_sanitize_log
from expunge.drives.identify.scsi import AtaReturn, parse_sense
from expunge.drives.sanitize import ata, blk, nvme, scsi
from expunge.drives.sanitize.commands import Completion, NvmeAdminCommand, ScsiCommand
from expunge.drives.sanitize.executor import CommandExecutor
from expunge.workflows.certify.device_work import SanitizeOperation

PROGRESS_UNITS = 1 << 16
DISCARD_CHUNK = 1 << 30
_MINUTE_MS = 60_000


@dataclass(frozen=True)
class Polling:
    """How the drive is polled: every ``interval`` seconds, for at most ``limit``."""

    interval: float = 2.0
    limit: float = 48 * 3600.0


DEFAULT_POLLING = Polling()


@dataclass(frozen=True)
class Target:
    """What the operation acts on: the device's node, size and block size, the
    namespace of an NVMe drive and the drive's profile."""

    node: str
    size: int
    block_size: int
    profile: DriveProfile


@dataclass(frozen=True)
class Result:
    """How the operation ended, in the drive's words."""

    completed: bool
    report: str
    interrupted: bool = False


class _Run:
    """One operation in progress on one drive."""

    def __init__(
        self,
        executor: CommandExecutor,
        target: Target,
        progress: ProgressSink,
        stop: StopRequest | None,
        polling: Polling,
    ) -> None:
        self.executor = executor
        self.target = target
        self.progress = progress
        self.stop = stop
        self.polling = polling
        self.task = f"{target.node} sanitize"
        self._shown = 0

    def nvme(self, command: NvmeAdminCommand) -> Completion:
        return nvme.check(self.executor.execute(command), command, self.target.node)

    def ata(self, command: ScsiCommand) -> AtaReturn | None:
        return ata.registers(self.executor.execute(command), command, self.target.node)

    def show(self, fraction: float) -> None:
        units = min(int(fraction * PROGRESS_UNITS), PROGRESS_UNITS)
        if units > self._shown:
            self.progress.advance(self.task, units - self._shown)
            self._shown = units

    def poll(self, ask: Callable[[], tuple[bool, float, str]]) -> Result:
        """Call ``ask`` (-> running, progress, report) until the drive is done; a failure
        the drive reports while polling is the result, not an exception: the command was
        accepted, so something may have been erased."""
        deadline = time.monotonic() + self.polling.limit
        while True:
            try:
                running, fraction, report = ask()
            except ExpungeError as exc:
                return Result(False, exc.message)
            self.show(fraction)
            if not running:
                return Result(True, report)
            if time.monotonic() > deadline:
                return Result(False, f"still running after {self.polling.limit:.0f} s: {report}")
            if self._wait():
                reason = self.stop.reason if self.stop is not None else None
                return Result(
                    False,
                    f"polling stopped at {fraction:.0%} ({reason or 'stopped'}); the drive "
                    "goes on with the operation by itself",
                    interrupted=True,
                )

    def _wait(self) -> bool:
        """Sleep one interval; True when a stop was requested meanwhile."""
        if self.stop is None:
            time.sleep(self.polling.interval)
            return False
        return self.stop.wait(self.polling.interval)


def run_operation(
    operation: SanitizeOperation,
    executor: CommandExecutor,
    target: Target,
    *,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
    polling: Polling = DEFAULT_POLLING,
) -> Result:
    """Send ``operation``'s command and wait for the drive to finish it.

    The command the drive rejects raises (``RefusedError``: nothing was erased); once it
    is accepted, how it ended is the result.
    """
    run = _Run(executor, target, progress, stop, polling)
    progress.start(run.task, PROGRESS_UNITS, operation.command)
    try:
        return _DISPATCH[operation.operation](run)
    finally:
        progress.finish(run.task)


def _nvme_sanitize(action: nvme.SanitizeAction) -> Callable[[_Run], Result]:
    def run(r: _Run) -> Result:
        r.nvme(nvme.sanitize(action))

        def ask() -> tuple[bool, float, str]:
            log = parse_sanitize_log(r.nvme(nvme.get_log_page(nvme.LOG_SANITIZE)).data)
            erased = ", global data erased" if log.global_data_erased else ""
            text = f"sanitize status log: {log.state.name.lower().replace('_', ' ')}{erased}"
            if not log.running and not log.succeeded:
                raise TargetError(f"the drive reports the sanitize {text}", target=r.target.node)
            return log.running, log.progress, text

        return r.poll(ask)

    return run


def _nvme_format(ses: nvme.SecureErase) -> Callable[[_Run], Result]:
    def run(r: _Run) -> Result:
        profile = r.target.profile
        nsid = profile.namespace_id or 1
        r.nvme(nvme.format_nvm(nsid, profile.lba_format or 0, ses))
        r.show(1.0)
        return Result(True, f"Format NVM of namespace {nsid} completed with status 0")

    return run


_ATA_SANITIZE: dict[str, Callable[[], ScsiCommand]] = {
    ops.ATA_SANITIZE_CRYPTO: ata.sanitize_crypto_scramble,
    ops.ATA_SANITIZE_BLOCK: ata.sanitize_block_erase,
    ops.ATA_SANITIZE_OVERWRITE: lambda: ata.sanitize_overwrite(0, 1),
}


def _ata_sanitize(name: str) -> Callable[[_Run], Result]:
    def run(r: _Run) -> Result:
        r.ata(_ATA_SANITIZE[name]())

        def ask() -> tuple[bool, float, str]:
            registers = r.ata(ata.sanitize_status())
            if registers is None:
                raise TargetError("SANITIZE STATUS EXT returned no registers", target=r.target.node)
            state = ata.parse_sanitize_status(registers)
            if not state.in_progress and not state.completed_without_error:
                raise TargetError(
                    "the drive reports the sanitize did not complete without error",
                    target=r.target.node,
                )
            return state.in_progress, state.progress, "SANITIZE STATUS EXT: completed without error"

        return r.poll(ask)

    return run


def _ata_security_erase(enhanced: bool) -> Callable[[_Run], Result]:
    def run(r: _Run) -> Result:
        sec = r.target.profile.security
        minutes = (sec.enhanced_erase_minutes if enhanced else sec.erase_minutes) if sec else None
        # The erase returns only when it is done: allow twice the drive's estimate.
        timeout = max(2 * (minutes or 60), 60) * _MINUTE_MS
        password = secrets.token_hex(8).encode()
        r.ata(ata.security_set_password(password))
        try:
            r.ata(ata.security_erase_prepare())
        except (ExpungeError, OSError):
            # A password left set would lock the drive at its next power-on.
            r.ata(ata.security_disable_password(password))
            raise
        try:
            r.ata(ata.security_erase_unit(password, enhanced=enhanced, timeout_ms=timeout))
        except (ExpungeError, OSError) as exc:
            r.ata(ata.security_disable_password(password))
            why = exc.message if isinstance(exc, ExpungeError) else exc.strerror
            return Result(False, f"SECURITY ERASE UNIT failed ({why}); the password was removed")
        r.show(1.0)
        return Result(True, "SECURITY ERASE UNIT completed; the drive cleared the password")

    return run


_SCSI_ACTIONS = {
    ops.SCSI_SANITIZE_CRYPTO: scsi.SanitizeServiceAction.CRYPTOGRAPHIC_ERASE,
    ops.SCSI_SANITIZE_BLOCK: scsi.SanitizeServiceAction.BLOCK_ERASE,
    ops.SCSI_SANITIZE_OVERWRITE: scsi.SanitizeServiceAction.OVERWRITE,
}


def _scsi_sanitize(name: str) -> Callable[[_Run], Result]:
    def run(r: _Run) -> Result:
        action = _SCSI_ACTIONS[name]
        pattern = bytes(4) if action is scsi.SanitizeServiceAction.OVERWRITE else b""
        command = scsi.sanitize(action, pattern=pattern)
        scsi.check(r.executor.execute(command), command, r.target.node)

        def ask() -> tuple[bool, float, str]:
            probe = scsi.request_sense()
            answer = r.executor.execute(probe)
            scsi.check(answer, probe, r.target.node)
            # REQUEST SENSE returns the sense data as its data.
            sense = parse_sense(answer.data)
            if sense is not None and sense.sanitize_in_progress:
                return True, sense.progress or 0.0, "sanitize in progress"
            return False, 1.0, "REQUEST SENSE: no sanitize in progress, no error"

        return r.poll(ask)

    return run


def _block(secure: bool) -> Callable[[_Run], Result]:
    def run(r: _Run) -> Result:
        size, done = r.target.size, 0
        make = blk.secure_discard if secure else blk.discard
        while done < size:
            if r.stop is not None and r.stop.is_set():
                return Result(False, f"stopped after {done} of {size} bytes", interrupted=True)
            length = min(DISCARD_CHUNK, size - done)
            try:
                r.executor.execute(make(done, length))
            except OSError as exc:
                if done == 0:
                    raise RefusedError(
                        f"the device rejected {make(0, 0).name} ({exc.strerror}); nothing "
                        "was erased",
                        target=r.target.node,
                        remedy="use an overwrite method",
                    ) from exc
                raise
            done += length
            r.show(done / size)
        return Result(True, f"{make(0, 0).name} of {size} bytes accepted by the device")

    return run


_DISPATCH: dict[str, Callable[[_Run], Result]] = {
    ops.NVME_SANITIZE_CRYPTO: _nvme_sanitize(nvme.SanitizeAction.CRYPTO_ERASE),
    ops.NVME_SANITIZE_BLOCK: _nvme_sanitize(nvme.SanitizeAction.BLOCK_ERASE),
    ops.NVME_SANITIZE_OVERWRITE: _nvme_sanitize(nvme.SanitizeAction.OVERWRITE),
    ops.NVME_FORMAT_CRYPTO: _nvme_format(nvme.SecureErase.CRYPTOGRAPHIC),
    ops.NVME_FORMAT_USER_DATA: _nvme_format(nvme.SecureErase.USER_DATA),
    **{name: _ata_sanitize(name) for name in _ATA_SANITIZE},
    ops.ATA_SECURITY_ERASE_ENHANCED: _ata_security_erase(enhanced=True),
    ops.ATA_SECURITY_ERASE: _ata_security_erase(enhanced=False),
    **{name: _scsi_sanitize(name) for name in _SCSI_ACTIONS},
    ops.SECURE_DISCARD: _block(secure=True),
    ops.DISCARD: _block(secure=False),
}
