"""Heads recorded outside the chain: files of `ledger checkpoint -o`, a station's head
record (``ledger-head``), or export lines."""

from __future__ import annotations

from pathlib import Path

from expunge.certificates import TrustStore
from expunge.core.canonical import strict_loads
from expunge.core.errors import ExpungeError, IntegrityError, UsageError
from expunge.ledger.chain import checkpoint_message
from expunge.ledger.entries import Entry, Head
from expunge.ledger.events import Checkpoint
from expunge.workflows.audit.report import Anchor
from expunge.workflows.records import HeadRecord, trust_verifier


def _anchors_in(data: object, where: str, trust: TrustStore) -> list[Head]:
    if isinstance(data, dict) and "station" in data and "event" not in data:
        record = HeadRecord.from_dict(data, where)
        record.verify(trust)
        return [record.head]
    if not (isinstance(data, dict) and "event" in data):
        return [Head.from_dict(data, where)]
    entry = Entry.from_dict(data, where)
    heads = [entry.head]
    if isinstance(entry.event, Checkpoint):
        cp = entry.event
        signed = Head(entry.ledger_id, cp.seq, bytes.fromhex(cp.head_hash))
        message = checkpoint_message(signed.ledger_id, signed.seq, signed.hash)
        if not trust_verifier(trust)(message, cp.keyid, bytes.fromhex(cp.signature)):
            raise IntegrityError(f"{where}: the checkpoint signature does not verify")
        heads.append(signed)
    return heads


def read_anchor_file(path: Path, trust: TrustStore) -> tuple[Anchor, ...]:
    """Anchors from a file: lines of ``ledger export`` (such as the file ``ledger
    checkpoint -o`` writes: a checkpoint, whose signature must verify under ``trust``,
    anchors both itself and the head it signs), a station's head record (signature
    verified likewise) or ``{"ledger_id", "seq", "hash"}`` objects. A file that is not one
    of these is an error naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the anchor: {exc}", target=str(path)) from None
    anchors: list[Anchor] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            heads = _anchors_in(strict_loads(line, what=where), where, trust)
        except ExpungeError as exc:
            raise IntegrityError(
                f"not a valid anchor: {exc.message}",
                target=str(path),
                remedy="give a file written by 'expunge ledger checkpoint -o', a station's "
                "ledger-head, or export lines",
            ) from None
        anchors.extend(Anchor(head, f"{path} {where}") for head in heads)
    if not anchors:
        raise UsageError("the anchor file is empty", target=str(path))
    return tuple(anchors)
