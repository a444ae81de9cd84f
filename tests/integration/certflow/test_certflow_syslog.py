"""The system log hears one structured line per destruction, refusal and audit: a real
Unix datagram socket bound by the test stands in for ``/dev/log`` (RFC 5424) or the
journal's native socket."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.core.test_core_syslog import parse_journal

SD = re.compile(r'(\w+)="((?:\\.|[^"\\])*)"')


class LogSocket:
    """A bound ``AF_UNIX``/``SOCK_DGRAM`` socket: what expunge sent to the log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))

    def received(self) -> list[bytes]:
        """Every datagram waiting (the sender has exited: nothing more is coming)."""
        self.sock.setblocking(False)
        found = []
        while True:
            try:
                found.append(self.sock.recv(1 << 20))
            except BlockingIOError:
                return found


@pytest.fixture
def log_socket() -> Iterator[LogSocket]:
    # A short folder of its own: a socket path must fit in 108 bytes.
    folder = Path(tempfile.mkdtemp(prefix="expunge-log-"))
    log = LogSocket(folder / "log")
    try:
        yield log
    finally:
        log.sock.close()
        shutil.rmtree(folder)


def expunge(home: Path, *args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m expunge ARGS`` with only the ``EXPUNGE_*`` settings given here."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
    return subprocess.run(
        [sys.executable, "-m", "expunge", *map(str, args)],
        env={**clean, "EXPUNGE_HOME": str(home), "EXPUNGE_OPERATOR": "Ada Lovelace", **env},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def rfc5424(datagram: bytes) -> tuple[str, dict[str, str], str]:
    """``(MSGID, structured-data params, message)`` of one RFC 5424 line."""
    text = datagram.decode()
    found = re.fullmatch(r"<(\d+)>1 \S+ \S+ expunge \d+ (\S+) \[expunge@32473 (.*?)\] (.*)", text)
    assert found, text
    assert int(found.group(1)) // 8 == 10  # authpriv
    params = {k: re.sub(r"\\(.)", r"\1", v) for k, v in SD.findall(found.group(3))}
    return found.group(2), params, found.group(4)


def write(path: Path, size: int = 1 << 16) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def test_each_destruction_sends_one_line_naming_its_certificate(
    cli_home: Path, tmp_path: Path, log_socket: LogSocket
) -> None:
    files = [write(tmp_path / "a.txt"), write(tmp_path / "b.txt")]
    run = expunge(cli_home, "shred", "--json", *files, EXPUNGE_SYSLOG_SOCKET=str(log_socket.path))
    assert run.returncode == 0, run.stderr
    certificates = {
        p.name.removesuffix(".cert.json") for p in cli_home.glob("certificates/*.cert.json")
    }
    lines = [rfc5424(d) for d in log_socket.received()]
    assert len(lines) == 2
    targets = set()
    for msgid, params, message in lines:
        assert msgid == "destruction"
        assert params["outcome"] == "success" and params["operator"] == "Ada Lovelace"
        assert params["certificate"] in certificates
        assert params["certificate"] in message
        targets.add(params["target"])
    assert targets == {str(f) for f in files}
    assert {p["certificate"] for _, p, _ in lines} == certificates


def test_journal_socket_gets_native_fields(
    cli_home: Path, tmp_path: Path, log_socket: LogSocket
) -> None:
    target = write(tmp_path / "report.pdf")
    run = expunge(cli_home, "shred", target, EXPUNGE_JOURNAL_SOCKET=str(log_socket.path))
    assert run.returncode == 0, run.stderr
    (datagram,) = log_socket.received()
    fields = parse_journal(datagram)
    certificate = re.search(r"certificate \(success\): (\S+)\.cert\.json", run.stdout)
    assert certificate, run.stdout
    assert fields["EXPUNGE_CERTIFICATE"] == Path(certificate.group(1)).name
    assert fields["EXPUNGE_TARGET"] == str(target)
    assert fields["EXPUNGE_OUTCOME"] == "success"
    assert fields["EXPUNGE_OPERATOR"] == "Ada Lovelace"
    assert fields["SYSLOG_IDENTIFIER"] == "expunge" and fields["PRIORITY"] == "5"


def test_a_refusal_sends_one_line(cli_home: Path, tmp_path: Path, log_socket: LogSocket) -> None:
    missing = tmp_path / "never-there.txt"
    run = expunge(cli_home, "shred", missing, EXPUNGE_SYSLOG_SOCKET=str(log_socket.path))
    assert run.returncode == 4
    (datagram,) = log_socket.received()
    msgid, params, message = rfc5424(datagram)
    assert msgid == "refusal"
    assert params == {
        "event": "refusal",
        "target": str(missing),
        "outcome": "target",
        "operator": "Ada Lovelace",
        "exit_code": "4",
    }
    assert message == "shred: " + run.stderr.strip().removeprefix("expunge: ")


def test_an_audit_sends_one_line(cli_home: Path, tmp_path: Path, log_socket: LogSocket) -> None:
    assert expunge(cli_home, "--no-syslog", "shred", write(tmp_path / "a")).returncode == 0
    run = expunge(cli_home, "audit", EXPUNGE_SYSLOG_SOCKET=str(log_socket.path))
    assert run.returncode == 0, run.stderr
    (datagram,) = log_socket.received()
    msgid, params, message = rfc5424(datagram)
    assert msgid == "audit" and params["outcome"] == "passed"
    assert params["target"] == str(cli_home / "ledger.db")
    assert "1 certificates verified" in message

    # A failed audit is one line too, not an audit line and a refusal line.
    tampered = next(cli_home.glob("certificates/*.cert.json"))
    envelope = json.loads(tampered.read_text())
    sig = envelope["signatures"][0]["sig"]
    envelope["signatures"][0]["sig"] = ("B" if sig[0] == "A" else "A") + sig[1:]
    tampered.write_text(json.dumps(envelope))
    run = expunge(cli_home, "audit", EXPUNGE_SYSLOG_SOCKET=str(log_socket.path))
    assert run.returncode == 7, run.stdout + run.stderr
    (datagram,) = log_socket.received()
    msgid, params, _ = rfc5424(datagram)
    assert (msgid, params["outcome"], params["exit_code"]) == ("audit", "failed", "7")


def test_no_syslog_and_the_config_key_send_nothing(
    cli_home: Path, tmp_path: Path, log_socket: LogSocket
) -> None:
    env = {"EXPUNGE_SYSLOG_SOCKET": str(log_socket.path)}
    assert expunge(cli_home, "--no-syslog", "shred", write(tmp_path / "a"), **env).returncode == 0
    assert expunge(cli_home, "--no-syslog", "shred", tmp_path / "absent", **env).returncode == 4
    (cli_home / "config.toml").write_text("[log]\nsyslog = false\n")
    assert expunge(cli_home, "shred", write(tmp_path / "b"), **env).returncode == 0
    assert expunge(cli_home, "shred", tmp_path / "absent", **env).returncode == 4
    assert expunge(cli_home, "audit", **env).returncode == 0
    assert log_socket.received() == []
    shown = expunge(cli_home, "config", "show", **env)
    assert f"  syslog  False  ({cli_home / 'config.toml'} [log])" in shown.stdout


def test_bad_log_setting_is_one_line(cli_home: Path, tmp_path: Path) -> None:
    (cli_home / "config.toml").write_text('[log]\nsyslog = "no"\n')
    run = expunge(cli_home, "config", "show")
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"expunge: {cli_home / 'config.toml'}: [log] takes one setting, syslog = true or "
        "false; write syslog = false to keep events out of the system log"
    ]


def test_a_full_log_neither_fails_nor_delays_a_destruction(
    cli_home: Path, tmp_path: Path, log_socket: LogSocket
) -> None:
    """Nobody reads the socket and its queue is full: the send is dropped at once."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as filler:
        filler.setblocking(False)
        with pytest.raises(BlockingIOError):
            for _ in range(100_000):
                filler.sendto(b"x" * 1024, str(log_socket.path))
    target = write(tmp_path / "a")
    started = time.monotonic()
    run = expunge(cli_home, "shred", target, EXPUNGE_SYSLOG_SOCKET=str(log_socket.path))
    assert run.returncode == 0, run.stderr
    assert not target.exists()
    assert time.monotonic() - started < 60
    assert all(d == b"x" * 1024 for d in log_socket.received())
