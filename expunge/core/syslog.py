"""One structured line per event to the system log: the journal's native socket when the
machine has one, else an RFC 5424 line to ``/dev/log``.

Best effort by design: the socket is non-blocking and every failure (no socket, nobody
listening, a full queue) is swallowed, so a missing or slow log never fails or delays a
destruction. ``EXPUNGE_JOURNAL_SOCKET`` or ``EXPUNGE_SYSLOG_SOCKET`` name another socket
(the journal's protocol, or RFC 5424) in place of the system's, e.g. for a test.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

from expunge.core.logsocket import destination

IDENTIFIER = "expunge"

# Security and authorization messages kept private (auth.log / secure): a destruction
# record names confidential paths.
FACILITY_AUTHPRIV = 10

# RFC 5424 structured data needs NAME@<private enterprise number>; expunge has none, so
# it uses 32473, the number RFC 5612 reserves for documentation and examples.
SD_ID = "expunge@32473"


class Priority(IntEnum):
    """Syslog severities (RFC 5424 section 6.2.1) the events use."""

    ERR = 3
    WARNING = 4
    NOTICE = 5


@dataclass(frozen=True)
class Event:
    """One line for the log: what happened (``kind``: destruction, refusal, audit), to
    what, with which outcome, by whom, under which certificate."""

    kind: str
    message: str
    outcome: str
    priority: Priority
    target: str = ""
    certificate: str = ""
    operator: str = ""
    exit_code: int | None = None

    def fields(self) -> dict[str, str]:
        """The event's ``EXPUNGE_*`` fields, empty ones left out."""
        found = {
            "EXPUNGE_EVENT": self.kind,
            "EXPUNGE_CERTIFICATE": self.certificate,
            "EXPUNGE_TARGET": self.target,
            "EXPUNGE_OUTCOME": self.outcome,
            "EXPUNGE_OPERATOR": self.operator,
            "EXPUNGE_EXIT_CODE": "" if self.exit_code is None else str(self.exit_code),
        }
        return {key: value for key, value in found.items() if value}


def _journal_field(key: str, value: str) -> bytes:
    """``KEY=value\\n``; a value holding a newline is sent length-prefixed, as the native
    protocol requires."""
    data = value.encode("utf-8", "surrogateescape")
    if b"\n" in data:
        return key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
    return key.encode() + b"=" + data + b"\n"


def journal_datagram(event: Event) -> bytes:
    """The event in the journal's native protocol."""
    fields = {
        "MESSAGE": event.message,
        "PRIORITY": str(int(event.priority)),
        "SYSLOG_IDENTIFIER": IDENTIFIER,
        "SYSLOG_FACILITY": str(FACILITY_AUTHPRIV),
        **event.fields(),
    }
    return b"".join(_journal_field(key, value) for key, value in fields.items())


def _sd_value(value: str) -> str:
    """An RFC 5424 PARAM-VALUE: ``"``, ``\\`` and ``]`` escaped; a line stays one line."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")
    return escaped.replace("\n", "\\n")


def syslog_line(event: Event, now: datetime | None = None, host: str | None = None) -> bytes:
    """The event as one RFC 5424 message: the fields as structured data, then the text."""
    stamp = (now or datetime.now(UTC)).isoformat(timespec="microseconds").replace("+00:00", "Z")
    pri = FACILITY_AUTHPRIV * 8 + int(event.priority)
    params = " ".join(
        f'{key.removeprefix("EXPUNGE_").lower()}="{_sd_value(value)}"'
        for key, value in event.fields().items()
    )
    head = f"<{pri}>1 {stamp} {host or os.uname().nodename or '-'} {IDENTIFIER} {os.getpid()}"
    text = event.message.replace("\n", "\\n")
    line = f"{head} {event.kind} [{SD_ID} {params}] {text}"
    return line.encode("utf-8", "surrogateescape")


def send(event: Event, env: Mapping[str, str]) -> bool:
    """Send ``event`` to the system log; whether it was handed to the socket. Never
    raises for a log that is missing, refuses, or is too busy to take it now."""
    where = destination(env)
    if where is None:
        return False
    path, journal = where
    datagram = journal_datagram(event) if journal else syslog_line(event)
    # Imported here, once there is a log to send to: socket.py builds four IntEnums at
    # import, 2% of a one-file shred on a machine without a system log (or --no-syslog).
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.setblocking(False)
            sock.sendto(datagram, path)
    except OSError:
        return False
    return True
