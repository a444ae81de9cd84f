"""The system log's two wire formats, and where events go."""

from __future__ import annotations

import os
import re
import socket
import struct
from datetime import UTC, datetime
from pathlib import Path

from expunge.core import logsocket, syslog

EVENT = syslog.Event(
    kind="destruction",
    message='destruction of /srv/a "b"]: success',
    outcome="success",
    priority=syslog.Priority.NOTICE,
    target='/srv/a "b"]\\c',
    certificate="01ABC",
    operator="Ada",
)


def parse_journal(datagram: bytes) -> dict[str, str]:
    """The native protocol read back: ``KEY=VALUE`` lines and length-prefixed values."""
    fields: dict[str, str] = {}
    rest = datagram
    while rest:
        line, _, after = rest.partition(b"\n")
        if b"=" in line:
            key, _, value = line.partition(b"=")
            fields[key.decode()] = value.decode()
            rest = after
        else:
            (size,) = struct.unpack("<Q", after[:8])
            fields[line.decode()] = after[8 : 8 + size].decode()
            assert after[8 + size : 9 + size] == b"\n"
            rest = after[9 + size :]
    return fields


def test_journal_fields_carry_the_event() -> None:
    fields = parse_journal(syslog.journal_datagram(EVENT))
    assert fields == {
        "MESSAGE": EVENT.message,
        "PRIORITY": "5",
        "SYSLOG_IDENTIFIER": "expunge",
        "SYSLOG_FACILITY": "10",
        "EXPUNGE_EVENT": "destruction",
        "EXPUNGE_CERTIFICATE": "01ABC",
        "EXPUNGE_TARGET": EVENT.target,
        "EXPUNGE_OUTCOME": "success",
        "EXPUNGE_OPERATOR": "Ada",
    }


def test_journal_value_with_a_newline_is_length_prefixed() -> None:
    event = syslog.Event("refusal", "one\ntwo", "target", syslog.Priority.WARNING, "a\nb")
    datagram = syslog.journal_datagram(event)
    assert b"MESSAGE\n" + struct.pack("<Q", 7) + b"one\ntwo\n" in datagram
    assert parse_journal(datagram)["EXPUNGE_TARGET"] == "a\nb"


def test_rfc5424_line_escapes_structured_data() -> None:
    when = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    line = syslog.syslog_line(EVENT, when, "station1").decode()
    head = f"<85>1 2026-03-04T05:06:07.890000Z station1 expunge {os.getpid()} "
    assert line.startswith(head + 'destruction [expunge@32473 event="destruction" ')
    assert 'target="/srv/a \\"b\\"\\]\\\\c"' in line
    assert line.endswith("] " + EVENT.message)
    assert "\n" not in line
    # One SD-ELEMENT: the message's own ']' comes after it, unescaped.
    assert re.fullmatch(r'.*?\[expunge@32473( \w+="(\\.|[^"\\])*")+\] .*', line)


def test_override_wins_and_journal_override_first() -> None:
    assert logsocket.destination({"EXPUNGE_SYSLOG_SOCKET": "/s"}) == ("/s", False)
    both = {"EXPUNGE_SYSLOG_SOCKET": "/s", "EXPUNGE_JOURNAL_SOCKET": "/j"}
    assert logsocket.destination(both) == ("/j", True)


def test_send_to_nobody_returns_false_without_raising(tmp_path: Path) -> None:
    assert syslog.send(EVENT, {"EXPUNGE_SYSLOG_SOCKET": str(tmp_path / "absent")}) is False
    # A socket file nobody reads any more: refused, not raised.
    path = str(tmp_path / "gone")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
    assert syslog.send(EVENT, {"EXPUNGE_SYSLOG_SOCKET": path}) is False


def test_send_delivers_one_datagram(tmp_path: Path) -> None:
    path = str(tmp_path / "log")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        assert syslog.send(EVENT, {"EXPUNGE_JOURNAL_SOCKET": path}) is True
        assert parse_journal(sock.recv(65536))["EXPUNGE_CERTIFICATE"] == "01ABC"
