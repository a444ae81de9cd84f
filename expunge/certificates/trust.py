"""The trust store: the public keys whose signatures an auditor accepts, keyed by keyid.

Keys come from files and folders (``--trust KEY_OR_DIR``, repeatable; ``<home>/trusted/``
by default). A file the user names must be a good key; in a folder, files that are not
keys are reported as problems and skipped, so one stray file does not stop an audit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from expunge.certificates.dsse import keyid
from expunge.certificates.keys import load_public_key
from expunge.core.errors import IntegrityError, UsageError

_MAX_KEY_FILE = 64 * 1024


@dataclass(frozen=True)
class TrustedKey:
    """A public key and the file it came from."""

    keyid: str
    public_key: Ed25519PublicKey = field(compare=False)
    source: str


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
    """Trusted public keys by keyid, and the problems met while loading them."""

    keys: tuple[TrustedKey, ...] = ()
    problems: tuple[TrustProblem, ...] = ()

    @cached_property
    def public_keys(self) -> Mapping[str, Ed25519PublicKey]:
        """Keyid -> public key, as ``verify_envelope`` takes them."""
        return {k.keyid: k.public_key for k in self.keys}

    def with_key(self, public_key: Ed25519PublicKey, source: str) -> TrustStore:
        """This store plus one key (e.g. the station's own, when it verifies its output)."""
        return TrustStore(_dedup((*self.keys, _trusted(public_key, source))), self.problems)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (keyids and sources, problems)."""
        return {
            "keys": [{"keyid": k.keyid, "source": k.source} for k in self.keys],
            "problems": [p.to_dict() for p in self.problems],
        }


def _trusted(public_key: Ed25519PublicKey, source: str) -> TrustedKey:
    return TrustedKey(keyid=keyid(public_key), public_key=public_key, source=source)


def _dedup(keys: Iterable[TrustedKey]) -> tuple[TrustedKey, ...]:
    seen: dict[str, TrustedKey] = {}
    for key in keys:
        seen.setdefault(key.keyid, key)
    return tuple(seen.values())


def _read_key(path: Path) -> TrustedKey:
    with path.open("rb") as handle:
        data = handle.read(_MAX_KEY_FILE + 1)
    if len(data) > _MAX_KEY_FILE:
        raise IntegrityError("too large to be a public key", target=str(path))
    return _trusted(load_public_key(data, str(path)), str(path))


def load_trust(sources: Iterable[Path], *, missing_ok: bool = False) -> TrustStore:
    """Load every key file and every file in every folder of ``sources``.

    A named file that is missing or not an Ed25519 public key is an error (``UsageError``);
    ``missing_ok`` lets a default folder be absent. In a folder, hidden files and
    subfolders are skipped and bad files become ``problems``.
    """
    keys: list[TrustedKey] = []
    problems: list[TrustProblem] = []
    for source in sources:
        if source.is_dir():
            for path in sorted(source.iterdir()):
                if path.name.startswith(".") or not path.is_file():
                    continue
                try:
                    keys.append(_read_key(path))
                except IntegrityError as exc:
                    problems.append(TrustProblem(str(path), exc.message))
                except OSError as exc:
                    problems.append(TrustProblem(str(path), f"cannot read: {exc.strerror}"))
        elif source.exists():
            try:
                keys.append(_read_key(source))
            except IntegrityError as exc:
                raise UsageError(
                    exc.message, target=str(source), remedy="--trust takes a public key PEM file"
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
