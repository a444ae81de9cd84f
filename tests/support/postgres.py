"""A real PostgreSQL for the shared-ledger tests.

``EXPUNGE_TEST_PG_URL`` (a superuser URL; ``.ci/run`` starts a throwaway cluster and sets
it) is used when given. Otherwise, when Debian's server binaries are installed
(``/usr/lib/postgresql/*/bin``), ``Cluster`` runs ``initdb`` in a temporary folder (as the
``postgres`` user when we are root: the server refuses to run as root) and serves it on its
own port on 127.0.0.1, stopped at the end. Without either the tests skip, saying why.

A session killed or interrupted before its teardown would leave its cluster running: each
cluster's folder (``<tmp>/expunge-pg-*``) holds a marker naming the process that made it
(pid and start time) and the server binaries, written before ``initdb``. Before making a
cluster, every marked folder whose maker is gone is stopped and removed; folders without
the marker (not made here) are never touched. ``atexit`` removes the session's own cluster
when the interpreter ends without reaching the teardown.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ENV = "EXPUNGE_TEST_PG_URL"
_PREFIX = "expunge-pg-"
_MARKER = "expunge-test-cluster.json"


def server_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin folder, if any."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A throwaway cluster of our own: trust authentication on 127.0.0.1 only."""

    folder: Path
    bin: Path
    port: int

    @property
    def url(self) -> str:
        """The superuser's URL (database ``postgres``)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    @classmethod
    def create(cls, bin_dir: Path) -> Cluster:
        """``initdb`` a new cluster in a temporary folder (not started), marked as ours."""
        folder = Path(tempfile.mkdtemp(prefix=_PREFIX))
        marker = {"pid": os.getpid(), "started": _process_start(os.getpid()), "bin": str(bin_dir)}
        (folder / _MARKER).write_text(json.dumps(marker))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(folder, user.pw_uid, user.pw_gid)
        cluster = cls(folder, bin_dir, _free_port())
        cluster._run(
            "initdb",
            "-D",
            str(folder / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        return cluster

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        log = str(self.folder / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", log, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: as a crash would)."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop the server if it runs, and delete the cluster's folder."""
        if (self.folder / "data" / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (field 22 of /proc/PID/stat), ``None`` if gone:
    with the pid, it tells a live maker from a later process that reused its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def reap_stale_clusters() -> list[Path]:
    """Stop and remove the clusters whose maker is gone (a session killed before its
    teardown): only folders holding our marker. Returns the folders removed."""
    reaped = []
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        try:
            marker = json.loads((folder / _MARKER).read_text())
            pid, started, bin_dir = int(marker["pid"]), marker["started"], Path(marker["bin"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not made here (or being made right now): never touched
        if started is not None and _process_start(pid) == started:
            continue  # its maker still runs
        Cluster(folder, bin_dir, 0).remove()
        reaped.append(folder)
    return reaped


@contextmanager
def own_cluster() -> Iterator[Cluster]:
    """A started cluster of our own, removed afterwards (also at interpreter exit, and by
    a later session if this one is killed); skips when none can be made."""
    bin_dir = server_bin()
    if bin_dir is None:
        pytest.skip(
            f"PostgreSQL is not installed (apt-get install postgresql), and no {ENV} is set"
        )
    reap_stale_clusters()
    cluster = Cluster.create(bin_dir)
    atexit.register(cluster.remove)
    try:
        cluster.start()
        yield cluster
    finally:
        atexit.unregister(cluster.remove)
        cluster.remove()


def _admin(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty UTF-8 database on the server (dropped afterwards): its admin URL."""
    name = f"expunge_test_{uuid.uuid4().hex[:12]}"
    _admin(server_url, f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0")
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def login_role(server_url: str, database_url: str, granted: str) -> Iterator[str]:
    """A new login role (with a password) granted ``granted``: a URL to log in as it."""
    name = f"expunge_login_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    _admin(server_url, f"CREATE ROLE {name} LOGIN PASSWORD '{password}' IN ROLE {granted}")
    scheme, rest = database_url.split("://", 1)
    host_and_db = rest.split("@", 1)[-1]
    try:
        yield f"{scheme}://{name}:{password}@{host_and_db}"
    finally:
        _admin(database_url, f"REASSIGN OWNED BY {name} TO CURRENT_USER")
        _admin(database_url, f"DROP OWNED BY {name}")
        _admin(server_url, f"DROP ROLE IF EXISTS {name}")
