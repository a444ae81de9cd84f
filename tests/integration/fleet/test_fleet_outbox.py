"""The outbox: a station whose shared ledger is down refuses to destroy what it cannot
tell apart from a document, unless told to record later (``--record-later``): then the
destruction is certified here and its record queued; ``ledger sync`` delivers it exactly
once when the database is back, also after a delivery killed between its commit and the
removal of the queued file. Each test stops and starts a cluster of its own."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from expunge.ledger.events import Destroy
from expunge.ledger.postgres.setup import setup
from expunge.ledger.store import open_store
from tests.support import Result, need_tool, run_cli
from tests.support.postgres import Cluster, own_cluster
from tests.support.records import make_document, ok, register

pytest.importorskip("psycopg")


def _json(result: Result) -> dict[str, object]:
    """A command's ``--json`` report (one place to adapt when its envelope changes)."""
    data = json.loads(ok(result).out)
    assert isinstance(data, dict)
    return data


def _register(target: Path, home: Path, url: str) -> str:
    return register(home, target, "--ledger", url)


def _destroys(url: str) -> list[Destroy]:
    with open_store(url) as store:
        return [e.event for e in store.entries() if isinstance(e.event, Destroy)]


def _queued(home: Path) -> list[Path]:
    return sorted((home / "outbox").glob("*.json"))


def test_a_document_shredded_while_the_ledger_is_down_is_recorded_once_it_is_back(
    tmp_path: Path, cli_home: Path
) -> None:
    with own_cluster() as cluster:  # stopped and started by this test: our own
        setup(cluster.url)
        url = cluster.url
        target = tmp_path / "report.txt"
        content = make_document(target)
        doc_id = _register(target, cli_home, url)
        cluster.stop()

        refused = run_cli("shred", target, "--ledger", url, home=cli_home)
        assert refused.code == 4, refused
        (line,) = refused.err.splitlines()
        assert "the ledger is unreachable" in line and "--record-later" in line
        assert target.read_bytes() == content
        assert not (cli_home / "certificates").exists() and not _queued(cli_home)

        later = ok(run_cli("shred", target, "--record-later", "--ledger", url, home=cli_home))
        assert not target.exists()
        (certificate,) = (cli_home / "certificates").glob("*.cert.json")
        assert f"certificate (success): {certificate}" in later.out
        (queued,) = _queued(cli_home)
        assert f"the record is queued in {queued}" in later.out
        ok(run_cli("cert", "verify", certificate, home=cli_home))

        status = run_cli("ledger", "status", "--ledger", url, home=cli_home)
        assert status.code == 0, status
        assert "UNREACHABLE" in status.out and "outbox: 1 destruction records" in status.out

        cluster.start()
        audit = run_cli("audit", "--ledger", url, home=cli_home)
        assert audit.code == 7, audit
        assert f"queued in {cli_home / 'outbox'}" in audit.out + audit.err

        synced = ok(run_cli("ledger", "sync", "--ledger", url, home=cli_home))
        (delivered,) = synced.out.splitlines()
        assert f"{doc_id} destroyed at {target}" in delivered
        assert not _queued(cli_home)
        (destroy,) = _destroys(url)
        assert destroy.doc_id == doc_id and destroy.recorded_later
        assert destroy.paths == (str(target),)

        again = ok(run_cli("ledger", "sync", "--ledger", url, home=cli_home))
        assert again.out.strip() == "outbox empty: nothing to deliver"
        assert len(_destroys(url)) == 1
        shown = _json(run_cli("ledger", "show", doc_id, "--json", "--ledger", url, home=cli_home))
        assert shown["status"] == "destroyed"
        ok(run_cli("audit", "--ledger", url, home=cli_home))


def test_an_unregistered_file_goes_on_only_with_record_later_and_records_nothing(
    tmp_path: Path, cli_home: Path
) -> None:
    with own_cluster() as cluster:
        setup(cluster.url)
        url = cluster.url
        with open_store(url) as store:
            assert store.head() is None
        target = tmp_path / "scratch.bin"
        content = make_document(target)
        cluster.stop()
        refused = run_cli("shred", target, "--ledger", url, home=cli_home)
        assert refused.code == 4 and target.read_bytes() == content
        ok(run_cli("shred", target, "--record-later", "--ledger", url, home=cli_home))
        assert not target.exists()
        (queued,) = _queued(cli_home)
        cluster.start()
        # Any later command that opens the shared ledger as the station delivers it.
        other = tmp_path / "other.txt"
        other.write_bytes(b"a document registered after the ledger came back")
        registered = ok(
            run_cli(
                "ledger",
                "register",
                other,
                "--classification",
                "internal",
                "--ledger",
                url,
                home=cli_home,
            )
        )
        assert f"certificate {queued.name.removesuffix('.json')}" in registered.err
        assert "destroyed no registered document, nothing to record" in registered.err
        assert not _queued(cli_home) and not _destroys(url)
        ok(run_cli("audit", "--ledger", url, home=cli_home))


def _kill_at_unlink(args: list[str], home: Path, path: Path) -> int:
    """``expunge ARGS`` killed (SIGKILL, injected by strace) when it unlinks ``path``."""
    strace = need_tool("strace")
    proc = subprocess.run(
        [
            strace,
            "-f",
            "-o",
            "/dev/null",
            "-P",
            str(path),
            "-e",
            "trace=unlink,unlinkat",
            "-e",
            "inject=unlink,unlinkat:signal=KILL",
            sys.executable,
            "-m",
            "expunge",
            *args,
        ],
        capture_output=True,
        env={"EXPUNGE_HOME": str(home), "PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    return proc.returncode


def test_a_delivery_killed_after_its_commit_is_not_recorded_twice(
    tmp_path: Path, cli_home: Path
) -> None:
    with own_cluster() as cluster:
        setup(cluster.url)
        url = cluster.url
        target = tmp_path / "minutes.txt"
        make_document(target)
        doc_id = _register(target, cli_home, url)
        cluster.stop()
        ok(run_cli("shred", target, "--record-later", "--ledger", url, home=cli_home))
        (queued,) = _queued(cli_home)
        cluster.start()
        killed = _kill_at_unlink(["ledger", "sync", "--ledger", url], cli_home, queued)
        assert killed in (-9, 137), killed
        assert queued.exists()  # the commit went through; the removal did not
        assert [d.doc_id for d in _destroys(url)] == [doc_id]
        synced = ok(run_cli("ledger", "sync", "--ledger", url, home=cli_home))
        assert f"already recorded for {doc_id} (not recorded twice)" in synced.out
        assert not _queued(cli_home) and len(_destroys(url)) == 1
        ok(run_cli("audit", "--ledger", url, home=cli_home))


def _stop_when_running(cluster: Cluster, runs: Path, shred: subprocess.Popen[str]) -> None:
    """Stop the server (as a crash would) once the shred has started writing."""
    deadline = time.monotonic() + 120
    while not list(runs.glob("*.log")):
        assert shred.poll() is None, shred.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    cluster.stop("immediate")


def test_the_database_stopped_mid_run_queues_the_record_of_a_finished_wipe(
    tmp_path: Path, cli_home: Path
) -> None:
    with own_cluster() as cluster:
        setup(cluster.url)
        url = cluster.url
        target = tmp_path / "ledger-book.bin"
        make_document(target, 16 << 20)
        doc_id = _register(target, cli_home, url)
        shred = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "expunge",
                "shred",
                str(target),
                "-m",
                "gutmann",
                "--ledger",
                url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env={"EXPUNGE_HOME": str(cli_home), "PATH": "/usr/bin:/bin"},
        )
        _stop_when_running(cluster, cli_home / "runs", shred)
        out, err = shred.communicate(timeout=600)
        assert shred.returncode == 0, (out, err)
        assert not target.exists() and "the record is queued in" in out
        (queued,) = _queued(cli_home)
        cluster.start()
        synced = ok(run_cli("ledger", "sync", "--ledger", url, home=cli_home))
        assert f"{doc_id} destroyed at {target}" in synced.out
        assert [d.doc_id for d in _destroys(url)] == [doc_id] and not queued.exists()
        ok(run_cli("audit", "--ledger", url, home=cli_home))
