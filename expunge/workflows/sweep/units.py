"""The systemd service and timer that run a daily sweep, sandboxed to what a sweep needs.

A sweep destroys files: it must write the home and the sweep roots, override file
permissions as root (``CAP_DAC_OVERRIDE``, ``CAP_DAC_READ_SEARCH``, ``CAP_FOWNER``), take
a write lease to tell whether another process holds a file open (``CAP_LEASE``), read
``/proc/fs/ext4`` (an ext4 data mode decides what an overwrite can promise, hence no
``ProcSubset=pid``), and reach the system log through a Unix socket (``AF_UNIX``). It
never needs a device node, the network (unless its ledger is PostgreSQL), another user
namespace (``PrivateUsers=`` would hide other owners' files from ``CAP_DAC_OVERRIDE``),
writable-executable memory, or the privileged and resource-setting system calls. Every
other protection ``systemd-analyze security`` weighs is on: it scores the default unit
0.9 (SAFE); the PostgreSQL variant, which keeps the network, 1.8 (systemd 252).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from expunge.core.atomic import write_atomic, write_new
from expunge.core.config import Home, ledger_location
from expunge.core.errors import RefusedError, TargetError, UsageError
from expunge.ledger.postgres.urls import display_url, is_url
from expunge.workflows.sweep.policy import SweepPolicy

SERVICE = "expunge-sweep.service"
TIMER = "expunge-sweep.timer"

_UNIT_UNSAFE = re.compile(r"[\s\"'\\%$;]")

# The sandbox every sweep runs in; the lines that depend on the settings are added around it.
_HARDENING = """\
PrivateDevices=yes
PrivateMounts=yes
ProtectProc=invisible
NoNewPrivileges=yes
ProtectClock=yes
ProtectHostname=yes
ProtectKernelLogs=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictNamespaces=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
CapabilityBoundingSet=CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_LEASE
"""

# No network at all, except the Unix sockets of the system log.
_OFFLINE = """\
PrivateNetwork=yes
IPAddressDeny=any
RestrictAddressFamilies=AF_UNIX
"""

# A PostgreSQL ledger is reached over TCP (or its Unix socket).
_ONLINE = """\
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
"""

_TIMER = """\
[Unit]
Description=expunge: daily sweep of documents past their retention

[Timer]
OnCalendar=daily
Persistent=true
RandomizedDelaySec=15m

[Install]
WantedBy=timers.target
"""


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


def _needs_network(home: Home) -> bool:
    """Whether the unit's sweep reaches a PostgreSQL ledger. The unit reads the ledger
    from ``config.toml`` at run time; a URL given only by ``--ledger`` or
    ``EXPUNGE_LEDGER_URL`` is refused rather than written into a world-readable unit
    (it may hold a password)."""
    configured = ledger_location(Home(home.root))
    in_force = ledger_location(home)
    if in_force != configured:
        raise UsageError(
            "the unit's sweep reads its ledger from config.toml, which names another one",
            target=display_url(in_force) if is_url(in_force) else in_force,
            remedy=f"write it as [ledger] url in {home.config_path} (a unit file is "
            "world-readable and a URL may hold a password), then generate the units again",
        )
    return is_url(configured)


def systemd_units(
    executable: Sequence[str], home: Home, policy: SweepPolicy, policy_file: Path | None = None
) -> dict[str, str]:
    """The service and timer that run a daily sweep of ``home``; ``executable`` is the
    command that runs expunge (``["/usr/local/bin/expunge"]``, or an interpreter and
    ``-m expunge``). The service may write only the home and the policy's sweep roots;
    it has network only when the home's ledger is PostgreSQL."""
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
    online = _needs_network(home)
    unit = "After=local-fs.target\n"
    if online:
        unit = "After=local-fs.target network-online.target\nWants=network-online.target\n"
    service = f"""\
[Unit]
Description=expunge: destroy documents past their retention
{unit}
[Service]
Type=oneshot
ExecStart={command}
Environment=EXPUNGE_HOME={home.root}
UMask=0077
ProtectSystem=strict
ReadWritePaths={" ".join("-" + p for p in writable)}
ProtectHome={"read-only" if under_home else "yes"}
PrivateTmp={"yes" if private_tmp else "no"}
{_ONLINE if online else _OFFLINE}{_HARDENING}"""
    return {SERVICE: service, TIMER: _TIMER}


def write_units(units: dict[str, str], folder: Path, *, force: bool = False) -> tuple[Path, ...]:
    """Write each unit into ``folder`` (mode 0644, atomically) and return the paths.

    A unit file already there is refused, before anything is written, unless ``force``:
    an operator's edits to an installed unit are not replaced by accident.
    """
    if not folder.is_dir():
        raise TargetError(
            "is not a folder (or does not exist)",
            target=str(folder),
            remedy="create it, or name the folder the units belong in",
        )
    paths = tuple(folder / name for name in units)
    present = [str(p) for p in paths if p.exists() or p.is_symlink()]
    if present and not force:
        raise RefusedError(
            f"already {'exist' if len(present) > 1 else 'exists'}; nothing was written",
            target=", ".join(present),
            remedy="pass --force to replace it, or choose another folder",
        )
    for path in paths:
        data = units[path.name].encode()
        try:
            (write_atomic if force else write_new)(path, data, 0o644)
        except FileExistsError:
            raise RefusedError(
                "appeared while the units were written",
                target=str(path),
                remedy="pass --force to replace it, or choose another folder",
            ) from None
        except OSError as exc:
            raise TargetError(
                f"cannot write the unit: {exc.strerror}",
                target=str(path),
                remedy="check the folder's permissions (install units as root)",
            ) from None
    return paths
