"""``expunge audit``: a ledger (or an export) audited against certificates and anchors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from expunge.certificates import TrustStore, keyid, load_public_key
from expunge.core.config import Home
from expunge.core.errors import ExpungeError, TargetError, UsageError
from expunge.ledger.chain import ChainWalk
from expunge.ledger.entries import RawEntry
from expunge.ledger.events import Destroy
from expunge.ledger.export import read_export
from expunge.ledger.state import DocumentFolds, StateProblem
from expunge.workflows.audit.anchors import read_anchor_file
from expunge.workflows.audit.checks import AuditRun, Holding
from expunge.workflows.audit.files import CertificateFiles, uncited
from expunge.workflows.audit.forked import Workers
from expunge.workflows.audit.pending import PendingDestroys
from expunge.workflows.audit.report import Anchor, AuditProblem, AuditReport, WriteOffNote
from expunge.workflows.audit.signatures import entry_verifier
from expunge.workflows.audit.verdicts import Verifier
from expunge.workflows.records import (
    existing_ledger,
    head_record_path,
    pending_records,
    read_head_record,
    shared,
    trust_verifier,
)


def audit(
    entries: Iterable[RawEntry],
    *,
    source: str,
    trust: TrustStore,
    now: datetime,
    ledger_id: str | None = None,
    certificate_files: Iterable[Path] = (),
    anchors: Sequence[Anchor] = (),
    workers: int = 1,
    ordered: bool = False,
) -> AuditReport:
    """Audit a ledger's entries (from the store, or read from an export) against the
    certificates in ``certificate_files`` and the ``anchors`` given, under ``trust``.

    One pass over ``entries``: with ``ordered`` (a store's stream, in seq order) nothing of
    the ledger is held but each document's state and a hash per entry, so that a ledger
    of any length is audited in bounded memory. Never raises for what it finds: every
    problem is in the report, with its seq. ``workers`` > 1 verifies certificates and
    entry signatures in that many forked processes, fed as the walk reads.
    """
    pool = Workers(trust, workers)
    try:
        return _audit(
            pool, entries, source, trust, now, ledger_id, certificate_files, anchors, ordered
        )
    finally:
        pool.close()


def _audit(
    pool: Workers,
    entries: Iterable[RawEntry],
    source: str,
    trust: TrustStore,
    now: datetime,
    ledger_id: str | None,
    certificate_files: Iterable[Path],
    anchors: Sequence[Anchor],
    ordered: bool,
) -> AuditReport:
    walk = ChainWalk(
        ledger_id=ledger_id,
        checkpoint_verifier=trust_verifier(trust),
        entry_verifier=entry_verifier(trust, pool.signatures if pool.active else frozenset),
    )
    inconsistent: list[StateProblem] = []
    folds = DocumentFolds(inconsistent)
    run = AuditRun(walk, Verifier(trust.station_keys), folds)
    destroys = PendingDestroys(run)
    for entry in walk.entries(pool.feed(entries), ordered=ordered):
        event = entry.event
        if isinstance(event, Destroy):
            content = walk.content_hash(entry.seq)
            assert content is not None  # the walk yields only what it hashed
            key = (entry.seq, content)
            verdict = None
            if pool.active:
                pool.verify(key, dict(event.envelope))
            else:
                verdict = run.verifier.data(dict(event.envelope))
            holding = Holding.of(folds, event)
            destroys.add(key, entry.record.origin, event, holding, verdict)
        folds.feed(entry)
        if pool.active:
            destroys.arrive(pool.arrived())
    if pool.active:
        destroys.arrive(pool.finish())
    destroys.finish()
    checked = run.take_problems()
    chain = walk.report()
    for anchor in anchors:
        run.anchor(anchor.head, anchor.origin)
    anchored = run.take_problems()
    cited_ids = {certificate_id for certificate_id, _ in run.cited}
    # A home's files as names (a Path each, for a quarter of a million, would weigh more
    # than the documents' states); any other iterable as given.
    all_files = certificate_files
    if not isinstance(all_files, CertificateFiles):
        all_files = list(all_files)
    for path in uncited(all_files, cited_ids):
        run.certificate_file(path)
    documents = destroyed = outstanding = 0
    written_off: list[WriteOffNote] = []
    # One document's final state at a time: a million entries hold a quarter of a
    # million documents.
    for state in folds.freeze(now):
        documents += 1
        destroyed += state.destroyed
        outstanding += len(state.outstanding)
        written_off.extend(WriteOffNote.of(state, loc) for loc in state.written_off)
        run.document(state)
    problems = [AuditProblem(p.seq, p.kind, p.message) for p in chain.problems]
    problems.extend(AuditProblem(p.seq, "inconsistent", p.message) for p in inconsistent)
    problems += anchored + checked + run.problems
    return AuditReport(
        source=source,
        chain=chain,
        documents=documents,
        destroyed=destroyed,
        outstanding_copies=outstanding,
        destroy_events=destroys.count,
        certificates_verified=len(run.outcomes.digests),
        certificate_files=len(all_files),
        anchors=len(anchors),
        problems=tuple(sorted(problems, key=lambda p: (p.seq is None, p.seq or 0))),
        written_off=tuple(written_off),
        outcomes=run.outcomes.tally(),
    )


def certificate_paths(folder: Path) -> CertificateFiles:
    """The certificate files in a folder (``*.cert.json``), in name order."""
    return CertificateFiles.of(folder)


def _read_export(path: Path) -> list[RawEntry]:
    try:
        with path.open(encoding="utf-8") as lines:
            return list(read_export(lines, str(path)))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the export: {exc}", target=str(path)) from None


def _station_head(path: Path, trust: TrustStore) -> tuple[list[Anchor], list[AuditProblem]]:
    """The station's head record (at ``path``) as an anchor, or the problem with it."""
    try:
        record = read_head_record(path)
        if record is None:
            return [], []
        record.verify(trust)
    except ExpungeError as exc:
        return [], [AuditProblem(None, "head-record", f"{path}: {exc.message}")]
    return [Anchor(record.head, f"the station's head record {path}")], []


def _own_keyid(home: Home) -> str | None:
    try:
        return keyid(load_public_key(home.public_key_path.read_bytes(), "station key"))
    except (OSError, ExpungeError):
        return None


def _missing_head(home: Home, path: Path, report: AuditReport) -> list[AuditProblem]:
    """A head record is missing when this station signed entries of the ledger audited."""
    own = _own_keyid(home)
    mine = [s for s in report.chain.authenticity.stations if s.keyid == own]
    if not mine or path.exists():
        return []
    return [
        AuditProblem(
            None,
            "head-record",
            f"{path} is missing, but this station signed {mine[0].entries} "
            "entries of the ledger: it was removed, and with it the record of the last entry "
            "this station appended (a truncated ledger could pass unseen)",
        )
    ]


def audit_station(
    home: Home,
    trust: TrustStore,
    *,
    anchor_files: Sequence[Path] = (),
    export: Path | None = None,
    now: datetime,
    workers: int = 1,
    strict: bool = False,
) -> AuditReport:
    """Audit the home's ledger (or the ``export`` file instead) against the certificates
    in ``<home>/certificates``, the station's head record (``<home>/ledger-head``) and the
    anchors in ``anchor_files``.

    A ledger that is missing while certificates or anchors remember it is audited as
    empty (everything they anchor was cut off); with nothing to remember it, a missing
    ledger is a target error. A database SQLite finds damaged is a problem of the report.
    ``strict`` fails the audit on any certificate that records an outcome but success.
    """
    store = None if export is not None else existing_ledger(home)
    head_path = home.ledger_head_path
    if store is not None and shared(home):
        head_path = head_record_path(home, store.ledger_id)
    head_anchors, found = _station_head(head_path, trust)
    anchors = [a for path in anchor_files for a in read_anchor_file(path, trust)]
    anchors += head_anchors
    certificates = certificate_paths(home.certificates)
    common: dict[str, Any] = {
        "trust": trust,
        "now": now,
        "certificate_files": certificates,
        "anchors": anchors,
        "workers": workers,
    }
    if export is not None:
        report = audit(_read_export(export), source=str(export), **common)
    elif store is None:
        if not certificates and not anchors and not found:
            raise TargetError(
                "there is no ledger here",
                target=str(home.ledger_path),
                remedy="check --home, or audit an export with --export FILE",
            )
        report = audit((), source=str(home.ledger_path), **common)
    else:
        with store:
            report = audit(
                store.raw_entries(),
                source=store.location,
                ledger_id=store.ledger_id,
                ordered=True,
                **common,
            )
            damage = store.integrity_check()
        if damage:
            found.append(AuditProblem(None, "database", f"storage check: {'; '.join(damage[:3])}"))
    found += _missing_head(home, head_path, report)
    found += _undelivered(home)
    return replace(report, problems=(*report.problems, *found), strict=strict)


def _undelivered(home: Home) -> list[AuditProblem]:
    """Records the station queued while the shared ledger was unreachable: destructions
    the ledger does not record yet."""
    return [
        AuditProblem(
            None,
            "outbox",
            f"the record of certificate {certificate_id} is queued in {home.outbox} and not "
            "delivered to the ledger yet: run 'expunge ledger sync'",
        )
        for certificate_id in pending_records(home)
    ]
