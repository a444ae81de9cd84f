"""The frame every command shares: the station, its key notice, signals, progress, trust."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from expunge import certificates
from expunge.commands import systemlog
from expunge.commands.options import job_fields
from expunge.commands.progress import FileProgress, stderr_bars, token_labels
from expunge.core.config import Home, load_settings
from expunge.core.errors import ExpungeError, Interrupted, UsageError
from expunge.core.progress import StopRequest
from expunge.shred.methods import Method
from expunge.workflows import certify, records

if TYPE_CHECKING:
    from expunge.certificates import CertificateCheck, TrustStore
    from expunge.workflows.destroy.recover import Recovered


def passphrase(home: Home, passphrase_file: Path | None = None) -> bytes | None:
    """The station key's passphrase: a file, EXPUNGE_KEY_PASSPHRASE, or config.toml's file."""
    path = passphrase_file
    if path is None and os.environ.get("EXPUNGE_KEY_PASSPHRASE"):
        return os.environ["EXPUNGE_KEY_PASSPHRASE"].encode()
    if path is None:
        configured = load_settings(home, os.environ).key_passphrase_file
        path = Path(configured) if configured else None
    if path is None:
        return None
    try:
        return path.read_bytes().rstrip(b"\r\n")
    except OSError as exc:
        raise UsageError(
            f"cannot read the passphrase file: {exc.strerror}",
            target=str(path),
            remedy="check the path and its permissions",
        ) from exc


def open_station(home: Home, *, deliver: bool = True) -> certify.Station:
    """The station's signing identity; its key is created on first use (see key_notice).

    Runs that died at this station (killed, a power cut) are finished first, so that no
    destruction stays without its certificate and record (``expunge recover``); then,
    with ``deliver``, the records queued in the outbox are delivered if the ledger is back.
    """
    return open_station_recovering(home, deliver=deliver)[0]


def open_station_recovering(
    home: Home, *, deliver: bool = True
) -> tuple[certify.Station, tuple[Recovered, ...]]:
    """``open_station``, and the runs it finished (``--resume`` does not redo them)."""
    settings = load_settings(home, os.environ)
    listener = systemlog.certificate_listener(home)
    station = certify.Station.open(home, settings, passphrase(home), job_fields(), listener)
    done = recover(station)
    for result in done:
        click.echo(f"expunge: {result.line()}", err=True)
    if deliver:
        deliver_queued(station)
    return station, done


def recover(station: certify.Station) -> tuple[Recovered, ...]:
    """Finish the station's dead runs (nothing to do, and nothing opened, when none). With
    the shared ledger unreachable they are finished all the same, their records queued in
    the outbox: what a dead run destroyed is never left without its record."""
    try:
        if not any(name.endswith(".log") for name in os.listdir(station.home.runs)):
            return ()
    except (FileNotFoundError, NotADirectoryError):
        return ()
    # Imported here: the destroy workflow is loaded only when there is a run to finish.
    from expunge.workflows.destroy import recover_runs

    operator = station.settings.operator
    with records.recording_ledger(station.home, operator, station, record_later=True) as ledger:
        return recover_runs(station, ledger)


def deliver_queued(station: certify.Station) -> None:
    """Best effort: deliver the records queued in the station's outbox, saying so on
    stderr; a ledger still unreachable (or a delivery running elsewhere) leaves them
    queued, and never fails the command. Nothing is opened when the outbox is empty."""
    home = station.home
    if not records.pending_records(home) or not records.shared(home):
        return
    # Imported here: only a station with queued records pays for it.
    from expunge.commands.ledger_outbox import sync_lines

    try:
        store = records.existing_ledger(home, station)
        if store is None:
            return
        with store:
            result = records.deliver(home, store, station, wait=False)
    except ExpungeError:
        return  # still unreachable: the records stay queued for a later command
    for line in sync_lines(result, quiet_when_empty=True):
        click.echo(f"expunge: {line}", err=True)


def key_notice(station: certify.Station) -> None:
    """Say on stderr where the station key was created, if this run created it."""
    if station.key_created:
        click.echo(
            f"expunge: created the station key {station.home.key_path} "
            f"(public key for auditors: {station.home.public_key_path})",
            err=True,
        )


def trust_store(
    home: Home, sources: tuple[Path, ...], auditors: tuple[Path, ...] = ()
) -> TrustStore:
    """The trust store of a command: ``--trust`` sources (station keys, or trust folders
    laid out by role), else the home's trusted folder plus the station's own public key;
    ``--trust-auditor`` sources add auditor keys."""
    named = certificates.load_trust((), auditors=auditors)
    if sources:
        return certificates.load_trust(sources).merged(named)
    store = certificates.load_trust([home.trusted], missing_ok=True)
    if home.public_key_path.exists():
        own = certificates.load_public_key(
            home.public_key_path.read_bytes(), str(home.public_key_path)
        )
        store = store.with_key(own, str(home.public_key_path))
    return store.merged(named)


def checked_certificate(
    path: Path, home: Home, trust: tuple[Path, ...], require: bool
) -> CertificateCheck:
    """The verdict on a certificate file under ``--trust`` or the station's defaults."""
    store = trust_store(home, trust)
    return certificates.verify_certificate_file(path, store, require_countersign=require)


@contextmanager
def stop_on_signals() -> Iterator[tuple[StopRequest, list[int]]]:
    """SIGINT/SIGTERM ask the work to stop after the current buffer, instead of killing it."""
    stop = StopRequest()
    received: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        received.append(signum)
        stop.request(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop, received
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def progress_sink(method: Method | None = None) -> FileProgress:
    """Progress bars on stderr when it is a terminal, nothing otherwise; with ``method``,
    each pass says which of how many it is and its pattern."""
    return FileProgress(stderr_bars(), token_labels(method) if method else ())


@dataclass(frozen=True, eq=False)  # a running command: the same job only as itself
class Job:
    """A command's work in progress: who signs it, how it is stopped, where progress goes."""

    station: certify.Station
    stop: StopRequest
    received: list[int]
    progress: FileProgress

    def conclude(
        self,
        failure: ExpungeError | None,
        *,
        interrupted: str = "interrupted; what was written is recorded above",
        remedy: str | None = "run the same command with --resume to finish",
        target: str | None = None,
    ) -> None:
        """End the command: a signal received wins (exit 128+N, saying ``interrupted``
        and how to resume), then the result's own failure, which carries its exit code."""
        if self.received:
            raise Interrupted(interrupted, signum=self.received[0], target=target, remedy=remedy)
        if failure is not None:
            raise failure


@contextmanager
def station_job(
    home: Home, station: certify.Station | None = None, method: Method | None = None
) -> Iterator[Job]:
    """The frame around a command's work: SIGINT/SIGTERM ask it to stop, progress bars on a
    terminal (passes named after ``method``), and afterwards the notice of a station key
    this run created."""
    station = station or open_station(home)
    progress = progress_sink(method)
    with stop_on_signals() as (stop, received):
        try:
            yield Job(station, stop, received, progress)
        finally:
            progress.bars.close()
            key_notice(station)
