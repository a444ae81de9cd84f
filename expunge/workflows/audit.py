"""``expunge audit``: the ledger and the certificates checked against each other (layer 2).

What is checked, each problem named with the seq it concerns:

1. the chain (``ledger.chain.verify_and_parse``): altered, deleted, reordered, duplicated
   or foreign entries, and checkpoints, whose signatures must be by a trusted key;
2. truncation and rewritten history, against *anchors*: heads recorded outside the chain
   (exported checkpoints or entries given as anchor files), and the ledger anchor of every
   certificate (see ``records``), whether carried by a ``destroy`` event or found in the
   certificates folder;
3. every event against its document's history (``ledger.state.consistency_problems``);
4. every ``destroy`` event's certificate: a DSSE envelope signed by a trusted key (the
   same verdict as ``cert verify``), the id and digest the event cites, outcome
   ``success``, a subject for every location the event covers (a file at that path naming
   the document, with the registered content for plaintext; a drive with that identity
   token; a key erasure), and a ledger anchor in this ledger before the event;
5. certificates in the folder that the ledger should record but does not: one naming a
   document that no ``destroy`` event of that document cites, or a drive certificate after
   which copies recorded on that drive are still outstanding (the entries after its
   anchor were cut off or removed). A file named for a certificate the ledger cites is
   not read again: the ledger's copy was checked;
6. documents destroyed with copies still outstanding, and documents past retention that
   were not destroyed.

Speed: verifying a certificate (strict envelope, Ed25519, strict certificate) costs about
0.2 ms, so with ``workers`` > 1 the certificates of ``destroy`` events are verified in
forked worker processes while this one verifies the chain and derives document state.
Each distinct signed certificate is verified once.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Generic, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from expunge.certificates import (
    Certificate,
    CertificateError,
    DriveSubject,
    Envelope,
    FileSubject,
    Outcome,
    TrustStore,
    verify_envelope,
)
from expunge.core.canonical import strict_loads
from expunge.core.config import Home
from expunge.core.errors import (
    EXIT_INTEGRITY,
    EXIT_OK,
    ExpungeError,
    IntegrityError,
    TargetError,
    UsageError,
)
from expunge.ledger.chain import ChainReport, checkpoint_message, verify_and_parse
from expunge.ledger.entries import Entry, Head, RawEntry
from expunge.ledger.events import Checkpoint, Destroy
from expunge.ledger.export import read_export
from expunge.ledger.state import DocumentState, Location, all_documents, consistency_problems
from expunge.workflows.certify import CERT_SUFFIX
from expunge.workflows.records import existing_ledger, trust_verifier

MAX_CERTIFICATE_FILE = 16 << 20
# Below this many destroy events, worker processes cost more than they save.
_PARALLEL_FROM = 2000
_DESTROY_MARK = b'"type":"destroy"'
T = TypeVar("T")


@dataclass(frozen=True)
class AuditProblem:
    """One thing wrong, at the seq it concerns (``None``: a file outside the ledger)."""

    seq: int | None
    kind: str
    message: str

    def describe(self) -> str:
        """One line: ``seq 17: ...``."""
        return f"seq {self.seq}: {self.message}" if self.seq is not None else self.message

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"seq": self.seq, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class Anchor:
    """A head recorded outside the chain, and where it was found."""

    head: Head
    origin: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.head.to_dict(), "origin": self.origin}


@dataclass(frozen=True)
class AuditReport:
    """What ``audit`` found; ``ok`` only when every check held."""

    source: str
    chain: ChainReport
    documents: int
    destroyed: int
    outstanding_copies: int
    destroy_events: int
    certificates_verified: int
    certificate_files: int
    anchors: int
    problems: tuple[AuditProblem, ...]

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    @property
    def exit_code(self) -> int:
        """0 when ok, else 7 (ledger or certificate invalid)."""
        return EXIT_OK if self.ok else EXIT_INTEGRITY

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "ok": self.ok,
            "source": self.source,
            "ledger_id": self.chain.ledger_id,
            "entries": self.chain.entries,
            "head": self.chain.head.to_dict() if self.chain.head else None,
            "checkpoints": self.chain.checkpoints,
            "checkpoints_verified": self.chain.checkpoints_verified,
            "anchors": self.anchors,
            "documents": self.documents,
            "destroyed": self.destroyed,
            "outstanding_copies": self.outstanding_copies,
            "destroy_events": self.destroy_events,
            "certificates_verified": self.certificates_verified,
            "certificate_files": self.certificate_files,
            "problems": [p.to_dict() for p in self.problems],
        }


# ---------------------------------------------------------------- anchor files


def _anchors_in(data: object, where: str, trust: TrustStore) -> list[Head]:
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
    anchors both itself and the head it signs) or ``{"ledger_id", "seq", "hash"}``
    objects. A file that is not one of these is an error naming it."""
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
                remedy="give a file written by 'expunge ledger checkpoint -o' or export lines",
            ) from None
        anchors.extend(Anchor(head, f"{path} {where}") for head in heads)
    if not anchors:
        raise UsageError("the anchor file is empty", target=str(path))
    return tuple(anchors)


# ---------------------------------------------------------------- certificates


@dataclass(frozen=True)
class _Facts:
    """What the audit needs from a certificate whose envelope verified (compact, so that
    worker processes can send it back cheaply)."""

    certificate_id: str
    digest: str
    success: bool
    outcome: str
    # (path, document id, content digest) of each file subject
    files: tuple[tuple[str, str | None, str | None], ...]
    drives: tuple[str, ...]
    key_erased: bool
    anchor: tuple[str, int, str] | None

    @classmethod
    def of(cls, certificate: Certificate, digest: str) -> _Facts:
        """The facts of a verified certificate."""
        files = []
        drives = []
        for record in certificate.subjects:
            subject = record.subject
            if isinstance(subject, FileSubject):
                files.append((subject.path, subject.document_id, subject.content_blake3))
            elif isinstance(subject, DriveSubject):
                drives.append(subject.identity_token)
        anchor = certificate.ledger_anchor
        return cls(
            certificate_id=certificate.certificate_id,
            digest=digest,
            success=certificate.outcome is Outcome.SUCCESS,
            outcome=certificate.outcome.value,
            files=tuple(files),
            drives=tuple(drives),
            key_erased=any(
                r.key_erasure is not None and r.key_erasure.destroyed for r in certificate.subjects
            ),
            anchor=None if anchor is None else (anchor.ledger_id, anchor.seq, anchor.head_hash),
        )

    @property
    def anchor_head(self) -> Head | None:
        """The ledger anchor as a head."""
        if self.anchor is None:
            return None
        ledger_id, seq, head_hash = self.anchor
        return Head(ledger_id, seq, bytes.fromhex(head_hash))


# (facts, None) when the envelope verified; (None, why not) otherwise.
Verdict = tuple[_Facts | None, str | None]


class _Verifier:
    """Verifies envelopes under a set of keys, each distinct signed certificate once."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey]) -> None:
        self.keys = keys
        self.cache: dict[tuple[bytes, tuple[tuple[str, bytes], ...]], Verdict] = {}

    def envelope(self, envelope: Envelope) -> Verdict:
        key = (envelope.payload, tuple((s.keyid, s.sig) for s in envelope.signatures))
        found = self.cache.get(key)
        if found is None:
            try:
                verified = verify_envelope(envelope, self.keys)
                found = (_Facts.of(verified.certificate, verified.digest), None)
            except CertificateError as exc:
                found = (None, f"{exc.reason.value}: {exc.message}")
            self.cache[key] = found
        return found

    def data(self, data: object) -> Verdict:
        try:
            envelope = Envelope.from_dict(data)
        except ExpungeError as exc:
            return None, f"malformed: {exc.message}"
        return self.envelope(envelope)

    @property
    def digests(self) -> set[str]:
        """Digests of the certificates that verified."""
        return {facts.digest for facts, _ in self.cache.values() if facts is not None}


def _verify_records(records: Sequence[tuple[int, bytes]], trust: TrustStore) -> dict[int, Verdict]:
    """The verdict on the certificate of each destroy record, by seq (in a child).

    Records are read with the plain JSON parser only to find the envelope; the parent
    parses them strictly, and the verdict on a record it rejects is not used.
    """
    verifier = _Verifier(trust.public_keys)
    verdicts: dict[int, Verdict] = {}
    for seq, record in records:
        try:
            envelope = json.loads(record)["event"]["envelope"]
        except (ValueError, KeyError, TypeError):
            continue
        verdicts[seq] = verifier.data(envelope)
    return verdicts


def _send(func: Callable[[], object], sender: Connection) -> None:
    # Ctrl-C is the parent's to handle; a failure here only means the parent does the work.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        sender.send(func())
    except Exception:  # the parent sees no result and does the work itself
        pass
    finally:
        sender.close()


class _Forked(Generic[T]):
    """``func`` run in a forked child process, which sees this process's memory as it was
    (nothing is pickled on the way in); only its result comes back, through a pipe."""

    def __init__(self, func: Callable[[], T]) -> None:
        context = multiprocessing.get_context("fork")
        self.receiver, sender = context.Pipe(duplex=False)
        self.process = context.Process(target=_send, args=(func, sender), daemon=True)
        self.process.start()
        sender.close()

    def result(self) -> T | None:
        """The child's result; ``None`` when it failed (the caller then does the work)."""
        try:
            value: T = self.receiver.recv()
        except Exception:  # EOF, a broken pipe, a result cut short
            return None
        finally:
            self.receiver.close()
            self.process.join()
        return value


def _certificate_checks(
    raws: Sequence[RawEntry], trust: TrustStore, workers: int
) -> list[_Forked[dict[int, Verdict]]]:
    """Children verifying the certificates of destroy records, when it pays."""
    records = [(r.seq, r.record) for r in raws if _DESTROY_MARK in r.record]
    if workers < 2 or len(records) < _PARALLEL_FROM:
        return []
    size = -(-len(records) // workers)
    return [
        _Forked(partial(_verify_records, records[i : i + size], trust))
        for i in range(0, len(records), size)
    ]


def _collect(children: Sequence[_Forked[dict[int, Verdict]]]) -> dict[int, Verdict]:
    found: dict[int, Verdict] = {}
    for child in children:
        found.update(child.result() or {})
    return found


# ---------------------------------------------------------------- the audit


@dataclass
class _Audit:
    ledger_id: str | None
    head: Head | None
    verifier: _Verifier
    by_seq: dict[int, Entry]
    states: dict[str, DocumentState]
    problems: list[AuditProblem] = field(default_factory=list)
    # (certificate id, doc id) pairs the ledger records
    cited: set[tuple[str, str]] = field(default_factory=set)
    # medium token -> outstanding copies on it, built when a drive certificate needs it
    on_media: dict[str, list[tuple[DocumentState, Location]]] | None = None

    def problem(self, seq: int | None, kind: str, message: str) -> None:
        self.problems.append(AuditProblem(seq, kind, message))

    def destroy_event(self, entry: Entry, event: Destroy, verdict: Verdict | None) -> None:
        seq = entry.seq
        self.cited.add((event.certificate_id, event.doc_id))
        facts, failure = verdict or self.verifier.data(dict(event.envelope))
        if facts is None:
            self.problem(
                seq,
                "certificate",
                f"the certificate of {event.doc_id}'s destruction is not acceptable: {failure}",
            )
            return
        name = facts.certificate_id
        if name != event.certificate_id:
            self.problem(
                seq,
                "certificate",
                f"the event cites certificate {event.certificate_id} but carries {name}",
            )
        if facts.digest != event.certificate_digest:
            self.problem(
                seq,
                "certificate",
                f"the event cites certificate digest {event.certificate_digest[:16]}… but the "
                f"envelope it carries has {facts.digest[:16]}…",
            )
        if not facts.success:
            self.problem(seq, "certificate", f"certificate {name} records outcome {facts.outcome}")
        self.subjects(seq, event, facts)
        anchor = facts.anchor_head
        if anchor is None:
            self.problem(seq, "anchor", f"certificate {name} records no ledger anchor")
        elif anchor.ledger_id == self.ledger_id and anchor.seq >= seq:
            self.problem(
                seq, "anchor", f"certificate {name} was issued at seq {anchor.seq}, after this"
            )
        else:
            self.anchor(anchor, f"certificate {name}")

    def subjects(self, seq: int, event: Destroy, facts: _Facts) -> None:
        name = facts.certificate_id
        files = {path: (doc, digest) for path, doc, digest in facts.files}
        state = self.states.get(event.doc_id)
        plaintext = {loc.path for loc in (state.locations if state else ()) if not loc.ciphertext}
        for path in event.paths:
            if path not in files:
                self.problem(seq, "subject", f"certificate {name} does not name {path}")
                continue
            doc, digest = files[path]
            if doc != event.doc_id:
                self.problem(
                    seq,
                    "subject",
                    f"certificate {name} names {path} as document {doc or '(none)'}, "
                    f"not {event.doc_id}",
                )
            if state is not None and path in plaintext and digest != state.digest:
                self.problem(
                    seq,
                    "subject",
                    f"certificate {name} destroyed content at {path} other than "
                    f"{event.doc_id}'s registered content",
                )
        for medium in event.media:
            if medium not in facts.drives:
                self.problem(seq, "subject", f"certificate {name} does not wipe medium {medium}")
        if event.key_erased and not facts.key_erased:
            self.problem(seq, "subject", f"certificate {name} records no key erasure")

    def anchor(self, anchor: Head, origin: str) -> None:
        """A head recorded outside the chain must still be in it, unchanged."""
        if self.ledger_id is not None and anchor.ledger_id != self.ledger_id:
            self.problem(
                anchor.seq,
                "foreign-ledger",
                f"{origin} was recorded in ledger {anchor.ledger_id}, not this one",
            )
            return
        last = self.head.seq if self.head else 0
        if anchor.seq > last:
            self.problem(
                anchor.seq,
                "truncated",
                f"the ledger ends at seq {last} but {origin} recorded seq {anchor.seq}: "
                f"entries {last + 1}..{anchor.seq} were cut off",
            )
            return
        entry = self.by_seq.get(anchor.seq)
        if entry is not None and entry.hash != anchor.hash:
            self.problem(
                anchor.seq,
                "anchor-mismatch",
                f"entry {anchor.seq} differs from the one {origin} recorded: history was rewritten",
            )

    def certificate_file(self, path: Path) -> None:
        """Check one certificate file whose certificate the ledger does not cite."""
        try:
            with path.open("rb") as handle:
                envelope = Envelope.from_json(handle.read(MAX_CERTIFICATE_FILE + 1))
        except OSError as exc:
            self.problem(None, "certificate-file", f"{path}: {exc.strerror}")
            return
        except CertificateError as exc:
            self.problem(None, "certificate-file", f"{path}: {exc.message}")
            return
        facts, failure = self.verifier.envelope(envelope)
        if facts is None:
            self.problem(None, "certificate-file", f"{path}: {failure}")
            return
        anchor = facts.anchor_head
        if anchor is None:
            return
        self.anchor(anchor, f"certificate {path}")
        if anchor.ledger_id == (self.ledger_id or anchor.ledger_id) and facts.success:
            self.unrecorded(path, facts, anchor.seq)

    def unrecorded(self, path: Path, facts: _Facts, anchor_seq: int) -> None:
        """A destruction the ledger should record after ``anchor_seq`` and does not."""
        named = dict.fromkeys(doc_id for _, doc_id, _ in facts.files if doc_id is not None)
        for doc_id in named:
            if (facts.certificate_id, doc_id) not in self.cited:
                self.problem(
                    anchor_seq + 1,
                    "unrecorded",
                    f"certificate {path} destroyed {doc_id} after seq {anchor_seq}, but no "
                    "destroy event records it (entries were cut off or removed)",
                )
        for token in facts.drives:
            for state, loc in self.copies_on(token):
                if loc.seq <= anchor_seq:
                    self.problem(
                        loc.seq,
                        "unrecorded",
                        f"{state.doc_id}'s copy on medium {token} is outstanding, but "
                        f"certificate {path} wiped that medium after seq {anchor_seq}",
                    )

    def copies_on(self, token: str) -> list[tuple[DocumentState, Location]]:
        if self.on_media is None:
            self.on_media = {}
            for state in self.states.values():
                for loc in state.locations:
                    if loc.medium is not None and loc.outstanding:
                        self.on_media.setdefault(loc.medium, []).append((state, loc))
        return self.on_media.get(token, [])

    def documents(self) -> None:
        for state in self.states.values():
            destroyed = state.destroyed_by
            if destroyed is not None:
                for loc in state.outstanding:
                    where = f"on medium {loc.medium}" if loc.path is None else f"at {loc.path}"
                    self.problem(
                        loc.seq,
                        "outstanding-copy",
                        f"{state.doc_id} was destroyed (seq {destroyed.seq}) but its "
                        f"{loc.kind} {where} (seq {loc.seq}) is outstanding",
                    )
            if state.overdue and state.retain_until is not None:
                self.problem(
                    state.registered_seq,
                    "overdue",
                    f"{state.doc_id} was to be kept until "
                    f"{state.retain_until.date().isoformat()} and is not destroyed",
                )


def _cited_name(path: Path, cited_ids: set[str]) -> bool:
    return path.name.endswith(CERT_SUFFIX) and path.name[: -len(CERT_SUFFIX)] in cited_ids


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
) -> AuditReport:
    """Audit a ledger's entries (from the store, or read from an export) against the
    certificates in ``certificate_files`` and the ``anchors`` given, under ``trust``.

    Never raises for what it finds: every problem is in the report, with its seq.
    ``workers`` > 1 verifies certificates in that many forked processes.
    """
    raws = list(entries)
    checking = _certificate_checks(raws, trust, workers)
    chain, parsed = verify_and_parse(
        raws,
        ledger_id=ledger_id,
        checkpoint_verifier=trust_verifier(trust),
        anchors=[a.head for a in anchors],
    )
    problems = [AuditProblem(p.seq, p.kind, p.message) for p in chain.problems]
    # Two folds over the same entries: one in a child, one here, at the same time.
    consistency = _Forked(partial(consistency_problems, parsed)) if workers > 1 else None
    states = {s.doc_id: s for s in all_documents(parsed, now)}
    inconsistent = consistency.result() if consistency else None
    if inconsistent is None:
        inconsistent = consistency_problems(parsed)
    problems.extend(AuditProblem(p.seq, "inconsistent", p.message) for p in inconsistent)
    run = _Audit(
        chain.ledger_id,
        chain.head,
        _Verifier(trust.public_keys),
        {e.seq: e for e in parsed},
        states,
        problems,
    )
    verdicts = _collect(checking)
    destroys = [(e, e.event) for e in parsed if isinstance(e.event, Destroy)]
    for entry, event in destroys:
        run.destroy_event(entry, event, verdicts.get(entry.seq))
    cited_ids = {certificate_id for certificate_id, _ in run.cited}
    all_files = list(certificate_files)
    files = [p for p in all_files if not _cited_name(p, cited_ids)]
    for path in files:
        run.certificate_file(path)
    run.documents()
    return AuditReport(
        source=source,
        chain=chain,
        documents=len(states),
        destroyed=sum(1 for s in states.values() if s.destroyed),
        outstanding_copies=sum(len(s.outstanding) for s in states.values()),
        destroy_events=len(destroys),
        certificates_verified=len(
            {facts.digest for facts, _ in verdicts.values() if facts} | run.verifier.digests
        ),
        certificate_files=len(all_files),
        anchors=len(anchors),
        problems=tuple(sorted(run.problems, key=lambda p: (p.seq is None, p.seq or 0))),
    )


def certificate_paths(folder: Path) -> list[Path]:
    """The certificate files in a folder (``*.cert.json``), in name order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(CERT_SUFFIX) and p.is_file())


def _read_export(path: Path) -> list[RawEntry]:
    try:
        with path.open(encoding="utf-8") as lines:
            return list(read_export(lines, str(path)))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the export: {exc}", target=str(path)) from None


def audit_station(
    home: Home,
    trust: TrustStore,
    *,
    anchor_files: Sequence[Path] = (),
    export: Path | None = None,
    now: datetime,
    workers: int = 1,
) -> AuditReport:
    """Audit the home's ledger (or the ``export`` file instead) against the certificates
    in ``<home>/certificates`` and the anchors in ``anchor_files``.

    A ledger that is missing while certificates or anchors remember it is audited as
    empty (everything they anchor was cut off); with nothing to remember it, a missing
    ledger is a target error. A database SQLite finds damaged is a problem of the report.
    """
    anchors = [a for path in anchor_files for a in read_anchor_file(path, trust)]
    certificates = certificate_paths(home.certificates)
    common: dict[str, Any] = {
        "trust": trust,
        "now": now,
        "certificate_files": certificates,
        "anchors": anchors,
        "workers": workers,
    }
    if export is not None:
        return audit(_read_export(export), source=str(export), **common)
    store = existing_ledger(home)
    if store is None:
        if not certificates and not anchors:
            raise TargetError(
                "there is no ledger here",
                target=str(home.ledger_path),
                remedy="check --home, or audit an export with --export FILE",
            )
        return audit((), source=str(home.ledger_path), **common)
    with store:
        raws = list(store.raw_entries())
        damage = store.integrity_check()
        ledger_id = store.ledger_id
    report = audit(raws, source=str(home.ledger_path), ledger_id=ledger_id, **common)
    if not damage:
        return report
    found = AuditProblem(None, "database", f"SQLite integrity check: {'; '.join(damage[:3])}")
    return replace(report, problems=(*report.problems, found))
