"""Where expunge keeps its state, and the station's settings.

Everything lives under one *home* folder: the station key, the ledger, certificates, the
trust store, wipe journals. It is chosen by ``--home``, else ``EXPUNGE_HOME``, else
``/var/lib/expunge`` for root running from a system unit (``INVOCATION_ID`` set by systemd),
else ``$XDG_DATA_HOME/expunge``. Optional station settings come from ``<home>/config.toml``.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from expunge.core.errors import TargetError, UsageError

SYSTEM_HOME = Path("/var/lib/expunge")

DESTINATIONS = ("reuse", "destroyed", "returned", "storage")
"""NIST SP 800-88's media destinations (``--destination``, ``[station] destination``)."""


def default_home(env: Mapping[str, str]) -> Path:
    """The home folder when neither ``--home`` nor ``EXPUNGE_HOME`` is given."""
    if os.geteuid() == 0 and env.get("INVOCATION_ID"):
        return SYSTEM_HOME
    data = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local/share")
    return Path(data) / "expunge"


def resolve_home(cli_home: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    """``--home`` wins over ``EXPUNGE_HOME``, which wins over the XDG default."""
    if cli_home:
        return Path(cli_home).expanduser().absolute()
    if env.get("EXPUNGE_HOME"):
        return Path(env["EXPUNGE_HOME"]).expanduser().absolute()
    return default_home(env).absolute()


@dataclass(frozen=True)
class StationSettings:
    """Who and where: recorded in every certificate (NIST SP 800-88 "person performing"),
    with the defaults of the per-job fields (``media_source``, ``destination``)."""

    operator: str
    operator_title: str = ""
    organization: str = ""
    location: str = ""
    host: str = ""
    key_passphrase_file: str = ""
    phone: str = ""
    media_source: str = ""
    destination: str = ""


@dataclass(frozen=True)
class Home:
    """The folder holding one station's state, with the paths derived from it."""

    root: Path
    ledger_url: str | None = None
    """The ledger named by ``--ledger`` or ``EXPUNGE_LEDGER_URL``; ``None``: the one
    ``[ledger] url`` in ``config.toml`` names, else ``ledger.db`` here."""

    @property
    def key_path(self) -> Path:
        """The station's Ed25519 private key (PKCS#8 PEM)."""
        return self.root / "station.key"

    @property
    def public_key_path(self) -> Path:
        """The station's public key, for auditors."""
        return self.root / "station.pub"

    @property
    def certificates(self) -> Path:
        """Where certificates are written unless ``--cert-out`` says otherwise."""
        return self.root / "certificates"

    @property
    def trusted(self) -> Path:
        """The default trust store: a folder of public keys."""
        return self.root / "trusted"

    @property
    def ledger_path(self) -> Path:
        """The embedded SQLite ledger."""
        return self.root / "ledger.db"

    @property
    def keystore_path(self) -> Path:
        """The SQLite key store of earlier versions, migrated into ``keystore/`` on first use."""
        return self.root / "keystore.db"

    @property
    def kek_path(self) -> Path:
        """The station key-encryption key wrapping sealed documents' keys (mode 0600)."""
        return self.root / "station.kek"

    @property
    def journal(self) -> Path:
        """Wipe journals for resuming interrupted wipes."""
        return self.root / "journal"

    @property
    def runs(self) -> Path:
        """Logs of destructions in progress, until each is certified and recorded."""
        return self.root / "runs"

    @property
    def outbox(self) -> Path:
        """Ledger records queued while the shared ledger was unreachable, until delivered."""
        return self.root / "outbox"

    @property
    def sweeps(self) -> Path:
        """JSON reports of scheduled sweeps."""
        return self.root / "sweeps"

    @property
    def config_path(self) -> Path:
        """Optional station settings."""
        return self.root / "config.toml"

    @property
    def policy_path(self) -> Path:
        """The retention policy used by ``expunge sweep``."""
        return self.root / "policy.toml"

    @property
    def ledger_head_path(self) -> Path:
        """The station's signed record of the last ledger entry it appended."""
        return self.root / "ledger-head"

    @property
    def last_certificate_path(self) -> Path:
        """The digest of this station's latest certificate (the certificate chain)."""
        return self.root / "last-certificate"

    def ensure(self) -> Home:
        """Create the home folder (mode 0700: it holds a private key) if absent."""
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise TargetError(
                f"cannot create the home folder: {exc.strerror}",
                target=str(self.root),
                remedy="choose a writable folder with --home or EXPUNGE_HOME",
            ) from None
        return self

    def check(self) -> Home:
        """Refuse a home that can never be one: a file, or below a file."""
        for folder in (self.root, *self.root.parents):
            if folder.exists():
                if not folder.is_dir():
                    where = "is" if folder == self.root else f"is below {folder}, which is"
                    raise TargetError(
                        f"{where} not a folder",
                        target=str(self.root),
                        remedy="choose a folder with --home or EXPUNGE_HOME",
                    )
                return self
        return self


def load_settings(home: Home, env: Mapping[str, str]) -> StationSettings:
    """Read ``<home>/config.toml`` (``[station]`` table) over sensible defaults."""
    return explained_settings(home, env)[0]


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.geteuid()}"


def _read_config(path: Path) -> dict[str, object] | None:
    """The parsed config.toml, or None when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise TargetError(
            f"cannot read the station settings: {exc.strerror}",
            target=str(path),
            remedy="check its permissions (run as the station's user), or use another --home",
        ) from None
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"not valid UTF-8: {exc}", target=str(path), remedy="fix the file"
        ) from None
    import tomllib  # here: a home without config.toml never parses TOML

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"not valid TOML: {exc}", target=str(path), remedy="fix the file") from exc


def _station_table(data: Mapping[str, object], path: Path) -> dict[str, str]:
    """The ``[station]`` table, checked: known keys, string values, a known destination."""
    station = data.get("station", {})
    if not isinstance(station, dict):
        raise UsageError("[station] must be a table", target=str(path), remedy="fix the file")
    allowed = {f.name for f in fields(StationSettings)}
    unknown = set(data) - {"station", "ledger", "log"} | (set(station) - allowed)
    if unknown:
        raise UsageError(
            f"unknown setting(s) {', '.join(sorted(unknown))}",
            target=str(path),
            remedy=f"allowed in [station]: {', '.join(sorted(allowed))}; in [ledger]: url; "
            "in [log]: syslog",
        )
    for key, value in station.items():
        if not isinstance(value, str):
            raise UsageError(
                f"[station] {key} must be a string",
                target=str(path),
                remedy='write it in quotes, e.g. location = "Room 4"',
            )
    destination = station.get("destination", "")
    if destination and destination not in DESTINATIONS:
        raise UsageError(
            f"[station] destination {destination!r} is not a media destination",
            target=str(path),
            remedy=f"choose one of {', '.join(DESTINATIONS)}",
        )
    return dict(station)


def explained_settings(
    home: Home, env: Mapping[str, str]
) -> tuple[StationSettings, dict[str, str]]:
    """The station settings in force, and where each came from (``expunge config show``).

    The operator is ``EXPUNGE_OPERATOR``, else ``[station] operator``, else the login
    name (each job may still say ``--operator``); the host is ``[station] host``, else the
    machine's host name; every other setting is ``[station]``'s, else empty.
    """
    data = _read_config(home.config_path)
    station = {} if data is None else _station_table(data, home.config_path)
    where = f"{home.config_path} [station]"
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for f in fields(StationSettings):
        if f.name in station:
            values[f.name], sources[f.name] = station[f.name], where
        else:
            sources[f.name] = "default"
    if env.get("EXPUNGE_OPERATOR"):
        values["operator"], sources["operator"] = env["EXPUNGE_OPERATOR"], "EXPUNGE_OPERATOR"
    elif "operator" not in values:
        values["operator"], sources["operator"] = _login_name(), "login name"
    if "host" not in values:
        values["host"], sources["host"] = os.uname().nodename, "host name"
    return StationSettings(**values), sources


def ledger_location(home: Home) -> str:
    """Where the station's ledger is: ``home.ledger_url`` (``--ledger`` or
    ``EXPUNGE_LEDGER_URL``), else ``[ledger] url`` in ``config.toml``, else the SQLite
    file ``<home>/ledger.db``."""
    if home.ledger_url:
        return home.ledger_url
    table = (_read_config(home.config_path) or {}).get("ledger", {})
    if not isinstance(table, dict) or set(table) - {"url"}:
        raise UsageError(
            "[ledger] takes one setting, url",
            target=str(home.config_path),
            remedy='write url = "postgresql://HOST/DB", or remove the table',
        )
    url = table.get("url")
    if url is None:
        return str(home.ledger_path)
    if not isinstance(url, str) or not url:
        raise UsageError(
            "[ledger] url must be a non-empty string",
            target=str(home.config_path),
            remedy='write it in quotes, e.g. url = "postgresql://ledger.example/expunge"',
        )
    return url


def system_log(home: Home) -> tuple[bool, str]:
    """Whether events go to the system log, and where that was decided: ``[log] syslog``
    in ``config.toml``, else on (the global ``--no-syslog`` wins over both)."""
    table = (_read_config(home.config_path) or {}).get("log", {})
    if (
        not isinstance(table, dict)
        or set(table) - {"syslog"}
        or not isinstance(table.get("syslog", True), bool)
    ):
        raise UsageError(
            "[log] takes one setting, syslog = true or false",
            target=str(home.config_path),
            remedy="write syslog = false to keep events out of the system log",
        )
    if "syslog" in table:
        return table["syslog"], f"{home.config_path} [log]"
    return True, "default"
