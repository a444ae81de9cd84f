"""The systemd service and timer that run a daily sweep."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from expunge.core.config import Home
from expunge.core.errors import UsageError
from expunge.workflows.sweep.policy import SweepPolicy

_UNIT_UNSAFE = re.compile(r"[\s\"'\\%$;]")


def _under(path: str, tops: Sequence[str]) -> bool:
    return any(path == top or path.startswith(top + "/") for top in tops)


def _unit_path(path: str) -> str:
    if _UNIT_UNSAFE.search(path):
        raise UsageError(
            "contains whitespace, quotes or characters systemd would expand",
            target=path,
            remedy="use a path without them for the home, the policy and the sweep roots",
        )
    return path


def systemd_units(
    executable: Sequence[str], home: Home, policy: SweepPolicy, policy_file: Path | None = None
) -> dict[str, str]:
    """The service and timer that run a daily sweep of ``home``; ``executable`` is the
    command that runs expunge (``["/usr/local/bin/expunge"]``, or an interpreter and
    ``-m expunge``)."""
    writable = [str(home.root), *sorted({rule.root for rule in policy.paths})]
    for path in (*executable, *writable, *([str(policy_file)] if policy_file else [])):
        _unit_path(path)
    visible = [*writable, executable[0]]
    under_home = any(_under(p, ("/home", "/root", "/run/user")) for p in visible)
    # A private /tmp would hide a home or root kept in the real one.
    private_tmp = not any(_under(p, ("/tmp", "/var/tmp")) for p in visible)
    command = f"{' '.join(executable)} sweep --home {home.root}"
    if policy_file is not None:
        command += f" --policy {policy_file}"
    service = f"""\
[Unit]
Description=expunge: destroy documents past their retention
After=local-fs.target

[Service]
Type=oneshot
ExecStart={command}
Environment=EXPUNGE_HOME={home.root}
UMask=0077
ProtectSystem=strict
ReadWritePaths={" ".join("-" + p for p in writable)}
ProtectHome={"read-only" if under_home else "yes"}
PrivateTmp={"yes" if private_tmp else "no"}
PrivateNetwork=yes
NoNewPrivileges=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictRealtime=yes
SystemCallArchitectures=native
CapabilityBoundingSet=CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_LEASE
"""
    timer = """\
[Unit]
Description=expunge: daily sweep of documents past their retention

[Timer]
OnCalendar=daily
Persistent=true
RandomizedDelaySec=15m

[Install]
WantedBy=timers.target
"""
    return {"expunge-sweep.service": service, "expunge-sweep.timer": timer}
