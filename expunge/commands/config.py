"""``expunge config show``: the station settings in force, and where each came from."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import click
from click.core import ParameterSource

from expunge.commands import systemlog
from expunge.commands.json_output import emit_json
from expunge.commands.options import home_option, json_option
from expunge.core import logsocket
from expunge.core.config import Home, explained_settings, system_log


@click.group("config")
def config() -> None:
    """The station's settings (config.toml)."""


def _home_source() -> str:
    context = click.get_current_context()
    if context.get_parameter_source("home") is ParameterSource.COMMANDLINE:
        return "--home"
    return "EXPUNGE_HOME" if os.environ.get("EXPUNGE_HOME") else "default"


def _system_log(home: Home) -> dict[str, Any]:
    """Whether events reach the system log, why, and through which socket."""
    enabled, source = system_log(home)
    if enabled and click.get_current_context().meta.get(systemlog.DISABLED):
        enabled, source = False, "--no-syslog"
    where = logsocket.destination(os.environ)
    return {
        "syslog": {"value": enabled, "source": source},
        "socket": None if where is None else where[0],
        "protocol": None if where is None else ("journal" if where[1] else "rfc5424"),
    }


def _passphrase_source(key_passphrase_file: str) -> str:
    """Where the station key's passphrase comes from: EXPUNGE_KEY_PASSPHRASE, else the
    configured file (never the passphrase itself)."""
    if os.environ.get("EXPUNGE_KEY_PASSPHRASE"):
        return "EXPUNGE_KEY_PASSPHRASE"
    if key_passphrase_file:
        return f"the file {key_passphrase_file} ([station] key_passphrase_file)"
    return "none configured (an encrypted station key needs one of the above)"


@config.command("show")
@json_option
@home_option
def config_show(as_json: bool, home: Home) -> None:
    """Print the home, the config file, each [station] setting with its source, and
    where the system log goes."""
    settings, sources = explained_settings(home, os.environ)
    values = {name: getattr(settings, name) for name in sources}
    shown: dict[str, Any] = {
        "home": {"path": str(home.root), "source": _home_source()},
        "config_file": {"path": str(home.config_path), "exists": home.config_path.is_file()},
        "station": {name: {"value": values[name], "source": sources[name]} for name in sources},
        "key_passphrase": _passphrase_source(settings.key_passphrase_file),
        "log": _system_log(home),
    }
    if as_json:
        emit_json("config-show", shown)
        return
    for line in _lines(shown):
        click.echo(line)


def _lines(shown: dict[str, Any]) -> Iterator[str]:
    home, config_file = shown["home"], shown["config_file"]
    yield f"home         {home['path']}  ({home['source']})"
    state = "present" if config_file["exists"] else "absent: defaults apply"
    yield f"config file  {config_file['path']}  ({state})"
    yield "[station]"
    width = max(len(name) for name in shown["station"])
    for name, entry in shown["station"].items():
        yield f"  {name:<{width}}  {entry['value']!r}  ({entry['source']})"
    yield f"key passphrase: {shown['key_passphrase']}"
    log = shown["log"]
    yield "[log]"
    yield f"  syslog  {log['syslog']['value']!r}  ({log['syslog']['source']})"
    if not log["syslog"]["value"]:
        yield "system log: off"
    elif log["socket"] is None:
        yield "system log: none on this machine (no journal socket, no /dev/log)"
    else:
        yield f"system log: {log['socket']} ({log['protocol']})"
