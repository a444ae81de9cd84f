"""The station's own side of the ledger: it signs the entries it appends, and remembers the
last one in a signed head record outside the ledger.

``<home>/ledger-head`` is rewritten after every committed append::

    {"ledger_id": ID, "seq": N, "hash": HEX, "station": {"keyid", "host"}, "signature": HEX}

the signature (the station key) covering ``chain.head_message``. An audit holds the ledger
to it like any anchor: entries cut off below it, or the entry at its seq rewritten, are
found even when the certificate of the last destruction was written elsewhere
(``--cert-out``) and nothing else remembers it. It is only ever moved forward (a slower
process never writes back an older head), under a lock; for a ledger replaced by an older
copy of itself together with an older head record, keep checkpoints elsewhere
(``ledger checkpoint -o``).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge.certificates import keyid
from expunge.core.atomic import write_atomic
from expunge.core.canonical import canonical_bytes, strict_loads
from expunge.core.config import Home
from expunge.core.errors import ExpungeError, IntegrityError, TargetError
from expunge.core.strictjson import Fields
from expunge.ledger.chain import head_message
from expunge.ledger.entries import Entry, Head, StationRef
from expunge.workflows.certify import Station
from expunge.workflows.records.checkpoints import trust_verifier

if TYPE_CHECKING:
    from expunge.certificates import TrustStore

_FIELDS = frozenset({"ledger_id", "seq", "hash", "station", "signature"})
_MAX_HEAD_FILE = 4096


class StationSigner:
    """The station as a ledger store's ``EntrySigner``: its key signs, its keyid and host
    are named. The key is loaded only when the first entry is signed."""

    def __init__(self, station: Station) -> None:
        self._station = station

    @property
    def station(self) -> StationRef:
        """The keyid of the station key and the station's host."""
        return StationRef(keyid(self._station.key.public_key()), self._station.settings.host)

    def sign(self, message: bytes) -> bytes:
        """Ed25519 with the station key."""
        return self._station.key.sign(message)


@dataclass(frozen=True)
class HeadRecord:
    """A head signed by the station that appended it."""

    head: Head
    station: StationRef
    signature: bytes

    @classmethod
    def sign(cls, head: Head, station: StationRef, key: Ed25519PrivateKey) -> HeadRecord:
        """The record of ``head``, signed with ``key``."""
        return cls(head, station, key.sign(head_message(head)))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            **self.head.to_dict(),
            "station": self.station.to_dict(),
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_dict(cls, data: object, where: str) -> HeadRecord:
        """Strictly read the JSON form."""
        f = Fields(data, where, _FIELDS)
        head = Head.from_dict(
            {"ledger_id": f.text("ledger_id"), "seq": f.raw("seq"), "hash": f.raw("hash")}, where
        )
        try:
            station = StationRef.from_dict(f.raw("station"), f"{where}.station")
            signature = bytes.fromhex(f.text("signature"))
        except (ExpungeError, ValueError) as exc:
            raise IntegrityError(f"{where}: not a station and signature ({exc})") from None
        return cls(head, station, signature)

    def verify(self, trust: TrustStore) -> None:
        """Raise ``IntegrityError`` unless a trusted station key made the signature."""
        if not trust_verifier(trust)(head_message(self.head), self.station.keyid, self.signature):
            raise IntegrityError("the head record's signature does not verify")


def read_head_record(path: Path) -> HeadRecord | None:
    """The head record at ``path``; ``None`` when there is none. A file that is not one is
    an ``IntegrityError`` naming it."""
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_HEAD_FILE + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TargetError(
            f"cannot read the head record: {exc.strerror}", target=str(path)
        ) from None
    try:
        return HeadRecord.from_dict(strict_loads(data, what="head record"), "head record")
    except IntegrityError as exc:
        raise IntegrityError(
            exc.message,
            target=str(path),
            remedy="it was altered; audit the ledger against its certificates and checkpoints",
        ) from None


@contextmanager
def _head_lock(home: Home) -> Iterator[None]:
    fd = os.open(home.root / "ledger-head.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def head_record_path(home: Home, ledger_id: str | None = None) -> Path:
    """The station's head record of a ledger: ``<home>/ledger-head`` for the home's own
    file, ``<home>/ledger-head.<ledger id>`` for a shared ledger (``ledger_id`` given), so
    that appending to one never moves the record of the other."""
    if ledger_id is None:
        return home.ledger_head_path
    return home.root / f"{home.ledger_head_path.name}.{ledger_id}"


def record_head(station: Station, entry: Entry, *, shared: bool = False) -> None:
    """After a commit: the station's head record names ``entry`` unless it already names a
    later entry of the same ledger (another process committed after this one). A
    ``shared`` ledger's record is kept apart from the home file's."""
    home = station.home
    path = head_record_path(home, entry.ledger_id if shared else None)
    try:
        with _head_lock(home):
            try:
                current = read_head_record(path)
            except IntegrityError:
                current = None  # a damaged record is replaced by a good one
            if (
                current is not None
                and current.head.ledger_id == entry.ledger_id
                and current.head.seq >= entry.seq
            ):
                return
            assert entry.station is not None
            record = HeadRecord.sign(entry.head, entry.station, station.key)
            write_atomic(path, canonical_bytes(record.to_dict()) + b"\n", 0o644)
    except OSError as exc:
        raise TargetError(
            f"entry {entry.seq} was appended, but the station's head record could not be "
            f"written: {exc.strerror}",
            target=str(path),
            remedy="check free space and permissions of the home folder",
        ) from None
