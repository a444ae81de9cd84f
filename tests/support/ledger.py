"""Helpers for the ledger tests: events with sensible defaults, real Ed25519 signers (of
checkpoints, and a station signing entries), and a pure chain built without any store."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from expunge.ledger.chain import checkpoint_message, next_entry
from expunge.ledger.entries import Entry, Record, StationRef
from expunge.ledger.events import Checkpoint, Copy, Destroy, Event, Register, Seal, Transfer

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
DIGEST = "ab" * 32
ENVELOPE: dict[str, Any] = {
    "payloadType": "application/vnd.expunge.certificate+json",
    "payload": "eyJ4IjogMX0=",
    "signatures": [{"keyid": "k1", "sig": "c2ln"}],
}


def register(doc_id: str, path: str | None = None, **changes: Any) -> Register:
    """A register event for ``doc_id`` at ``/docs/<doc_id>.pdf`` unless told otherwise."""
    fields: dict[str, Any] = {
        "doc_id": doc_id,
        "title": f"Report {doc_id}",
        "classification": "secret",
        "custodian": "alice",
        "path": path or f"/docs/{doc_id}.pdf",
        "size": 4096,
        "digest": DIGEST,
        "retain_until": None,
        "sealed": False,
    }
    fields.update(changes)
    return Register(**fields)


def destroy(
    doc_id: str,
    *,
    paths: Sequence[str] = (),
    media: Sequence[str] = (),
    key_erased: bool = False,
    cert: str = "CERT-1",
) -> Destroy:
    """A destroy event citing certificate ``cert``."""
    return Destroy(
        doc_id=doc_id,
        method="clear",
        certificate_id=cert,
        certificate_digest=hashlib.sha256(cert.encode()).hexdigest(),
        envelope=ENVELOPE,
        paths=tuple(paths),
        media=tuple(media),
        key_erased=key_erased,
    )


class _Key:
    """A real Ed25519 key, and the verifier an auditor trusting only it would use."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.keyid = hashlib.sha256(raw).hexdigest()

    def verify(self, message: bytes, keyid: str, signature: bytes) -> bool:
        if keyid != self.keyid:
            return False
        try:
            self.key.public_key().verify(signature, message)
        except InvalidSignature:
            return False
        return True


class Signer(_Key):
    """A station key as a checkpoint signer."""

    def sign(self, message: bytes) -> tuple[str, bytes]:
        return self.keyid, self.key.sign(message)


class StationKey(_Key):
    """A station as a store's entry signer."""

    def __init__(self, host: str = "test-station") -> None:
        super().__init__()
        self.host = host

    @property
    def station(self) -> StationRef:
        return StationRef(self.keyid, self.host)

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


STATION = StationKey()


def chain(events: Sequence[Event], ledger_id: str = "ledger-1") -> list[Entry]:
    """Entries linking ``events`` in order, one second apart, without a store."""
    entries: list[Entry] = []
    for index, event in enumerate(events):
        head = entries[-1].head if entries else None
        record = Record(NOW + timedelta(seconds=index), "op", event)
        entries.append(next_entry(ledger_id, head, record))
    return entries


def sample_events(documents: int) -> list[Event]:
    """A varied history: per document a register, a copy, a transfer, a seal, a destroy."""
    events: list[Event] = []
    for n in range(1, documents + 1):
        doc = f"DOC-2026-{n:06d}"
        events += [
            register(doc),
            Copy(doc, to_medium=f"SERIAL-{n}"),
            Transfer(doc, "bob"),
            Seal(doc, f"/docs/{doc}.pdf.sealed", f"key-{n}"),
            destroy(doc, key_erased=True, cert=f"CERT-{n}"),
        ]
    return events


def checkpointed(entries: list[Entry], signer: Signer) -> list[Entry]:
    """``entries`` followed by a checkpoint signing their head."""
    head = entries[-1].head
    keyid, sig = signer.sign(checkpoint_message(head.ledger_id, head.seq, head.hash))
    event = Checkpoint(head.seq, head.hash.hex(), keyid, sig.hex())
    record = Record(NOW + timedelta(seconds=len(entries)), "op", event)
    return [*entries, next_entry(head.ledger_id, head, record)]


def signed_chain(
    transactions: Sequence[tuple[StationKey, Sequence[Event]]], ledger_id: str = "ledger-1"
) -> list[Entry]:
    """v2 entries as stores append them: each transaction's events by its station, the
    last one signed for all of them."""
    entries: list[Entry] = []
    for station, events in transactions:
        first = len(entries) + 1
        for index, event in enumerate(events):
            head = entries[-1].head if entries else None
            record = Record(NOW + timedelta(seconds=len(entries)), "op", event, station.station)
            last = index == len(events) - 1
            entries.append(
                next_entry(
                    ledger_id, head, record, signer=station if last else None, from_seq=first
                )
            )
    return entries
