"""Shared CLI pieces: option decorators, progress bars, signals, rendering, station."""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from expunge.certificates import (
    CertificateCheck,
    TrustStore,
    load_public_key,
    verify_certificate_file,
)
from expunge.certificates.trust import load_trust
from expunge.core.config import Home, load_settings, resolve_home
from expunge.core.errors import (
    UsageError,
)
from expunge.core.progress import StopRequest
from expunge.shred.files import FileOptions
from expunge.shred.methods import choose_method
from expunge.verify import VerificationReport, VerifyOptions
from expunge.workflows import certify

if TYPE_CHECKING:
    from tqdm import tqdm

F = TypeVar("F", bound=Callable[..., Any])


# ---------------------------------------------------------------- rendering helpers


def emit_json(value: Any) -> None:
    """Machine-readable output on stdout."""
    click.echo(json.dumps(value, indent=2, sort_keys=False))


def human_bytes(count: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


class TqdmProgress:
    """A ProgressSink drawing one tqdm bar per task on stderr, only on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._bars: dict[str, tqdm[Any]] = {}
        self._lock = threading.Lock()

    def start(self, task: str, total: int, label: str) -> None:
        """Open a bar for ``task``."""
        if not self._enabled:
            return
        with self._lock:
            old = self._bars.pop(task, None)
            if old is not None:
                old.close()
            name = task if len(task) <= 32 else "…" + task[-31:]
            # Imported here: scripts without a terminal never pay for tqdm.
            from tqdm import tqdm

            self._bars[task] = tqdm(
                total=total,
                desc=f"{name} {label}",
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                leave=False,
                position=len(self._bars),
            )

    def advance(self, task: str, done: int) -> None:
        """Move ``task``'s bar forward."""
        with self._lock:
            bar = self._bars.get(task)
            if bar is not None:
                bar.update(done)

    def finish(self, task: str) -> None:
        """Close ``task``'s bar."""
        with self._lock:
            bar = self._bars.pop(task, None)
            if bar is not None:
                bar.close()


def progress_sink() -> TqdmProgress:
    """Progress bars on stderr when it is a terminal, nothing otherwise."""
    return TqdmProgress(sys.stderr.isatty())


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


# ---------------------------------------------------------------- shared options


def home_option(func: F) -> F:
    """``--home DIR`` (or EXPUNGE_HOME): where the key, ledger and certificates live."""

    @click.option(
        "--home",
        "home",
        type=click.Path(file_okay=False),
        default=None,
        help="Folder for the station key, ledger and certificates [env: EXPUNGE_HOME].",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, home: str | None, **kwargs: Any) -> Any:
        return func(*args, home=Home(resolve_home(home, os.environ)), **kwargs)

    return wrapper  # type: ignore[return-value]


def json_option(func: F) -> F:
    """``--json``: the report on stdout as JSON."""
    return click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")(func)


def cert_out_option(func: F) -> F:
    """``--cert-out FILE``: where to write the certificate instead of the home folder."""
    return click.option(
        "--cert-out",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Write the certificate here instead of <home>/certificates/.",
    )(func)


def trust_option(func: F) -> F:
    """``--trust KEY_OR_DIR`` (repeatable): public keys to trust."""
    return click.option(
        "--trust",
        "trust_sources",
        multiple=True,
        type=click.Path(path_type=Path),
        help="A trusted public key file or folder (repeatable); default: <home>/trusted/ "
        "and this station's own key.",
    )(func)


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


def open_station(home: Home) -> certify.Station:
    """The station's signing identity; its key is created on first use (see key_notice)."""
    return certify.Station.open(home, load_settings(home, os.environ), passphrase(home))


def key_notice(station: certify.Station) -> None:
    """Say on stderr where the station key was created, if this run created it."""
    if station.key_created:
        click.echo(
            f"expunge: created the station key {station.home.key_path} "
            f"(public key for auditors: {station.home.public_key_path})",
            err=True,
        )


def trust_store(home: Home, sources: tuple[Path, ...]) -> TrustStore:
    """``--trust`` sources, or the home's trusted folder plus the station's own public key."""
    if sources:
        return load_trust(sources)
    store = load_trust([home.trusted], missing_ok=True)
    if home.public_key_path.exists():
        own = load_public_key(home.public_key_path.read_bytes(), str(home.public_key_path))
        store = store.with_key(own, str(home.public_key_path))
    return store


def file_options(func: F) -> F:
    """``--allow-hardlinks``, ``--accept-limitations``, ``--force``: overrides of file checks.

    Gives the command ``file_options: FileOptions``; ``--cross-filesystems`` (``-r`` only)
    is added by ``shred`` itself.
    """

    @click.option("--allow-hardlinks", is_flag=True, help="Wipe files that have other names.")
    @click.option(
        "--accept-limitations", is_flag=True, help="Overwrite where it cannot reach old copies."
    )
    @click.option("--force", is_flag=True, help="Wipe files open in other processes.")
    @functools.wraps(func)
    def wrapper(
        *args: Any, allow_hardlinks: bool, accept_limitations: bool, force: bool, **kwargs: Any
    ) -> Any:
        options = FileOptions(allow_hardlinks, accept_limitations, force)
        return func(*args, file_options=options, **kwargs)

    return wrapper  # type: ignore[return-value]


def method_options(func: F) -> F:
    """``-m/--method``, ``--passes``, ``--blank``: what to write."""

    @click.option(
        "-m", "--method", "method_name", default=None, help="Method (see 'expunge methods')."
    )
    @click.option("--passes", default=None, help="Custom passes, e.g. 00,ff,R,55aa.")
    @click.option("--blank", is_flag=True, help="Add a final zero pass.")
    @functools.wraps(func)
    def wrapper(
        *args: Any, method_name: str | None, passes: str | None, blank: bool, **kwargs: Any
    ) -> Any:
        return func(*args, method=choose_method(method_name, passes, blank), **kwargs)

    return wrapper  # type: ignore[return-value]


def verify_options(func: F) -> F:
    """``--verify``, ``--coverage``, ``--verify-all``: how to read the media back."""

    @click.option(
        "--verify",
        "verify_mode",
        type=click.Choice(["nist", "quick", "full", "none"]),
        default="nist",
        show_default=True,
        help="Read-back verification of the final pass.",
    )
    @click.option(
        "--coverage",
        type=click.FloatRange(0.001, 100.0),
        default=None,
        help="Percent of blocks sampled by --verify quick (default 1).",
    )
    @click.option("--verify-all", is_flag=True, help="Verify every pass, right after it.")
    @functools.wraps(func)
    def wrapper(
        *args: Any, verify_mode: str, coverage: float | None, verify_all: bool, **kwargs: Any
    ) -> Any:
        options = VerifyOptions(verify_mode, coverage, verify_all)
        return func(*args, verify=options, **kwargs)

    return wrapper  # type: ignore[return-value]


MAX_OFFSETS_SHOWN = 8


def verification_line(report: VerificationReport) -> str:
    """One line summarizing a read-back, with the first mismatching offsets."""
    line = (
        f"verification {report.status}: {report.mode}, {report.blocks_checked} blocks, "
        f"{human_bytes(report.bytes_checked)} read ({report.coverage:.1%}), "
        f"{report.cache_bypass}"
    )
    if report.mismatches:
        shown = ", ".join(str(o) for o in report.mismatches[:MAX_OFFSETS_SHOWN])
        more = len(report.mismatches) - MAX_OFFSETS_SHOWN
        line += f"; MISMATCH at offset(s) {shown}" + (f" and {more} more" if more > 0 else "")
    return line


def checked_certificate(
    path: Path, home: Home, trust: tuple[Path, ...], require: bool
) -> CertificateCheck:
    """The verdict on a certificate file under ``--trust`` or the station's defaults."""
    return verify_certificate_file(path, trust_store(home, trust), require_countersign=require)
