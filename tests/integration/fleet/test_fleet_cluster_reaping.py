"""The PostgreSQL fixture's own clusters do not outlive a killed session: the next one
stops and removes every cluster whose maker is gone, and only those it marked."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.postgres import reap_stale_clusters, server_bin

_MAKER = """
import sys, time
from pathlib import Path
from tests.support.postgres import Cluster
cluster = Cluster.create(Path(sys.argv[1]))
cluster.start()
print(cluster.folder, cluster.port, flush=True)
time.sleep(600)
"""


def _answers(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_a_cluster_left_by_a_killed_session_is_stopped_and_removed() -> None:
    bin_dir = server_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    foreign = Path(tempfile.mkdtemp(prefix="expunge-pg-"))  # unmarked: not the fixture's
    maker = subprocess.Popen(
        [sys.executable, "-c", _MAKER, str(bin_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[3],
    )
    try:
        assert maker.stdout is not None
        folder_text, port_text = maker.stdout.readline().split()
        folder, port = Path(folder_text), int(port_text)
        assert _answers(port)
        assert folder not in reap_stale_clusters()  # its maker still runs
        os.kill(maker.pid, signal.SIGKILL)
        maker.wait()
        assert folder in reap_stale_clusters()
        assert not folder.exists() and not _answers(port)
        assert foreign.is_dir()
    finally:
        if maker.poll() is None:
            maker.kill()
            maker.wait()
        reap_stale_clusters()
        foreign.rmdir()
