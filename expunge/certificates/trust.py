"""The trust store: the public keys an auditor accepts, each in one role, keyed by keyid.

Two roles, never interchangeable:

- **station** keys sign certificates, ledger entries, checkpoints and head records;
- **auditor** keys countersign (validate) certificates. A countersignature counts only when
  made by an auditor key, and never when made by the key that signed the certificate.

Keys come from files and folders. ``--trust KEY_OR_DIR`` (repeatable) gives station keys,
``--trust-auditor KEY_OR_DIR`` auditor keys; by default ``<home>/trusted/`` is read. A
folder given as a trust store is laid out by role: key files at its top and in
``stations/`` are station keys (the top level, for folders from before roles existed),
those in ``auditors/`` auditor keys. A file the user names must be a good key; in a
folder, files that are not keys are reported as problems and skipped, so one stray file
does not stop an audit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from expunge.certificates.dsse import keyid
from expunge.certificates.keys import load_public_key
from expunge.core.errors import IntegrityError, UsageError

_MAX_KEY_FILE = 64 * 1024
STATIONS_FOLDER = "stations"
AUDITORS_FOLDER = "auditors"


class Role(StrEnum):
    """What a trusted key may sign."""

    STATION = "station"
    """Certificates, ledger entries, checkpoints, head records."""
    AUDITOR = "auditor"
    """Countersignatures (validations) of certificates."""


@dataclass(frozen=True)
class TrustedKey:
    """A public key, the role it is trusted in, and the file it came from."""

    keyid: str
    public_key: Ed25519PublicKey = field(compare=False)
    source: str
    role: Role = Role.STATION


@dataclass(frozen=True)
class TrustProblem:
    """A file in a trust folder that could not be used, and why."""

    path: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"path": self.path, "message": self.message}


@dataclass(frozen=True)
class TrustStore:
    """Trusted public keys by role and keyid, and the problems met while loading them."""

    keys: tuple[TrustedKey, ...] = ()
    problems: tuple[TrustProblem, ...] = ()

    def _of(self, role: Role) -> Mapping[str, Ed25519PublicKey]:
        return {k.keyid: k.public_key for k in self.keys if k.role is role}

    @cached_property
    def station_keys(self) -> Mapping[str, Ed25519PublicKey]:
        """Keyid -> public key of the stations: what certificates and entries are
        verified under (as ``verify_envelope`` takes them)."""
        return self._of(Role.STATION)

    @cached_property
    def auditor_keys(self) -> Mapping[str, Ed25519PublicKey]:
        """Keyid -> public key of the auditors: what countersignatures are verified under."""
        return self._of(Role.AUDITOR)

    def with_key(
        self, public_key: Ed25519PublicKey, source: str, role: Role = Role.STATION
    ) -> TrustStore:
        """This store plus one key (e.g. the station's own, when it verifies its output)."""
        key = TrustedKey(keyid(public_key), public_key, source, role)
        return TrustStore(_dedup((*self.keys, key)), self.problems)

    def merged(self, other: TrustStore) -> TrustStore:
        """The keys and problems of both stores."""
        return TrustStore(_dedup((*self.keys, *other.keys)), (*self.problems, *other.problems))

    def to_dict(self) -> dict[str, Any]:
        """JSON form (keyids, roles and sources, problems)."""
        return {
            "keys": [
                {"keyid": k.keyid, "role": k.role.value, "source": k.source} for k in self.keys
            ],
            "problems": [p.to_dict() for p in self.problems],
        }


def _dedup(keys: Iterable[TrustedKey]) -> tuple[TrustedKey, ...]:
    seen: dict[tuple[str, Role], TrustedKey] = {}
    for key in keys:
        seen.setdefault((key.keyid, key.role), key)
    return tuple(seen.values())


def _read_key(path: Path, role: Role) -> TrustedKey:
    with path.open("rb") as handle:
        data = handle.read(_MAX_KEY_FILE + 1)
    if len(data) > _MAX_KEY_FILE:
        raise IntegrityError("too large to be a public key", target=str(path))
    public_key = load_public_key(data, str(path))
    return TrustedKey(keyid(public_key), public_key, str(path), role)


def _read_folder(
    folder: Path, role: Role, keys: list[TrustedKey], problems: list[TrustProblem]
) -> None:
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            keys.append(_read_key(path, role))
        except IntegrityError as exc:
            problems.append(TrustProblem(str(path), exc.message))
        except OSError as exc:
            problems.append(TrustProblem(str(path), f"cannot read: {exc.strerror}"))


_LAYOUT = ((STATIONS_FOLDER, Role.STATION), (AUDITORS_FOLDER, Role.AUDITOR))


def _load(sources: Iterable[Path], role: Role, missing_ok: bool, option: str) -> TrustStore:
    keys: list[TrustedKey] = []
    problems: list[TrustProblem] = []
    for source in sources:
        if source.is_dir():
            _read_folder(source, role, keys, problems)
            if role is Role.STATION:
                for sub, sub_role in _LAYOUT:
                    if (source / sub).is_dir():
                        _read_folder(source / sub, sub_role, keys, problems)
        elif source.exists():
            try:
                keys.append(_read_key(source, role))
            except IntegrityError as exc:
                raise UsageError(
                    exc.message, target=str(source), remedy=f"{option} takes a public key PEM file"
                ) from None
            except OSError as exc:
                raise UsageError(f"cannot read: {exc.strerror}", target=str(source)) from None
        elif not missing_ok:
            raise UsageError(
                "no such trusted key or folder",
                target=str(source),
                remedy="give a public key file (expunge key export) or a folder of them",
            )
    return TrustStore(_dedup(keys), tuple(problems))


def load_trust(
    sources: Iterable[Path], *, auditors: Iterable[Path] = (), missing_ok: bool = False
) -> TrustStore:
    """Load station keys from ``sources`` and auditor keys from ``auditors``.

    A folder in ``sources`` is a trust store laid out by role (module docstring); every
    key file in a folder of ``auditors`` is an auditor key. A named file that is missing
    or not an Ed25519 public key is an error (``UsageError``); ``missing_ok`` lets a
    default folder be absent. In a folder, hidden files are skipped and bad files become
    ``problems``.
    """
    stations = _load(sources, Role.STATION, missing_ok, "--trust")
    return stations.merged(_load(auditors, Role.AUDITOR, missing_ok, "--trust-auditor"))
