"""``ledger migrate``: a station's own ledger copied into the shared one.

Every entry but the checkpoints is appended to the target, in order, in one transaction
(all of it or none), as a record that keeps its time, actor and event, names and is
signed by the migrating station, and cites its ``origin``: the source ledger's id, the
entry's seq and hash there. The old chain (and its checkpoints and certificates' anchors,
which name the old ledger) can then still be checked against the copies: keep the old
ledger file. Checkpoints are left out: they sign heads of the old ledger only.

Refused before anything is written: a source whose chain does not verify (audit it
first: a migration must not launder a damaged history), and a source whose documents'
ids are already in the target (migrated before, or ids another station took).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from expunge.core.errors import IntegrityError, UsageError
from expunge.ledger.chain import verify_and_parse
from expunge.ledger.entries import Origin, Record
from expunge.ledger.events import Checkpoint
from expunge.ledger.store import LedgerStore


@dataclass(frozen=True)
class Migration:
    """What ``migrate`` copied."""

    source: str
    source_ledger_id: str
    target: str
    target_ledger_id: str
    entries: int
    first_seq: int | None
    last_seq: int | None
    checkpoints_left: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "source": self.source,
            "source_ledger_id": self.source_ledger_id,
            "target": self.target,
            "target_ledger_id": self.target_ledger_id,
            "entries": self.entries,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "checkpoints_left": self.checkpoints_left,
        }


def migrate(source: LedgerStore, target: LedgerStore, *, actor: str, now: datetime) -> Migration:
    """Copy ``source``'s entries into ``target`` (opened with the migrating station's
    signer), each citing its origin; see the module docstring for what is refused."""
    if source.ledger_id == target.ledger_id:
        raise UsageError(
            "the source and the target are the same ledger",
            target=target.location,
            remedy="give the shared ledger's URL with --to",
        )
    report, entries = verify_and_parse(source.raw_entries(), ledger_id=source.ledger_id)
    if not report.ok:
        raise IntegrityError(
            f"the ledger to migrate does not verify: {report.problems[0].describe()}",
            target=source.location,
            remedy="audit it ('expunge audit') and restore it from a backup first",
        )
    records = [
        Record(e.time, e.actor, e.event, origin=Origin(source.ledger_id, e.seq, e.hash))
        for e in entries
        if not isinstance(e.event, Checkpoint)
    ]
    doc_ids = sorted({str(r.event.doc_id) for r in records})
    taken = [doc_id for doc_id in doc_ids if target.document_entries(doc_id)]
    if taken:
        raise UsageError(
            f"{len(taken)} document id(s) of this ledger are already in the target, first "
            f"{taken[0]}: it was migrated before, or another station uses the ids",
            target=target.location,
            remedy="see 'expunge ledger show DOC --ledger URL'; nothing was written",
        )
    appended = target.append_many(records, actor=actor, now=now) if records else ()
    return Migration(
        source.location,
        source.ledger_id,
        target.location,
        target.ledger_id,
        len(appended),
        appended[0].seq if appended else None,
        appended[-1].seq if appended else None,
        len(entries) - len(records),
    )
