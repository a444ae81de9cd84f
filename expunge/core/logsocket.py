"""Where the system log listens, if anywhere: the journal's native socket, ``/dev/log``,
or a socket named by ``EXPUNGE_JOURNAL_SOCKET`` / ``EXPUNGE_SYSLOG_SOCKET`` (e.g. a test's).

Apart from ``syslog`` (the events and their formats) so that a run on a machine without
a log asks this and imports nothing more.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

JOURNAL_SOCKET = "/run/systemd/journal/socket"
SYSLOG_SOCKET = "/dev/log"


def destination(env: Mapping[str, str]) -> tuple[str, bool] | None:
    """Where events go, and whether in the journal's protocol: an ``EXPUNGE_JOURNAL_SOCKET``
    or ``EXPUNGE_SYSLOG_SOCKET`` override, else the journal when it runs, else
    ``/dev/log`` when present; None when the machine has no log to send to."""
    if env.get("EXPUNGE_JOURNAL_SOCKET"):
        return env["EXPUNGE_JOURNAL_SOCKET"], True
    if env.get("EXPUNGE_SYSLOG_SOCKET"):
        return env["EXPUNGE_SYSLOG_SOCKET"], False
    if os.path.exists(JOURNAL_SOCKET):
        return JOURNAL_SOCKET, True
    if os.path.exists(SYSLOG_SOCKET):
        return SYSLOG_SOCKET, False
    return None
