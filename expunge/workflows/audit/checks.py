"""The checks of one audit: destroy events against their certificates, anchors, documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from expunge.certificates import CertificateError, Envelope
from expunge.ledger.chain import ChainWalk
from expunge.ledger.entries import Head, Origin
from expunge.ledger.events import Destroy
from expunge.ledger.locations import Location
from expunge.ledger.state import DocumentFolds, DocumentState
from expunge.workflows.audit.outcomes import OutcomeCount
from expunge.workflows.audit.report import AuditProblem
from expunge.workflows.audit.verdicts import MAX_CERTIFICATE_FILE, Facts, Verdict, Verifier


@dataclass(frozen=True, slots=True)
class Holding:
    """What the ledger said of a destroy event's document when the event was recorded:
    which of the event's paths held plaintext, the registered content digest, the key id
    of its seal. Kept with the event until its certificate's verdict comes back."""

    plaintext: frozenset[str]
    digest: str
    key_id: str | None

    @classmethod
    def of(cls, folds: DocumentFolds, event: Destroy) -> Holding | None:
        """The holding of ``event``'s document as ``folds`` stand (``None``: no such
        document)."""
        fold = folds.view(event.doc_id)
        if fold is None:
            return None
        paths = set(event.paths)
        plaintext = frozenset(
            loc.path for loc in fold.locations if loc.path in paths and not loc.ciphertext
        )
        seal = fold.seal
        return cls(plaintext, fold.register.digest, seal.key_id if seal is not None else None)


@dataclass
class AuditRun:
    walk: ChainWalk
    verifier: Verifier
    folds: DocumentFolds
    problems: list[AuditProblem] = field(default_factory=list)
    outcomes: OutcomeCount = field(default_factory=OutcomeCount)
    # (certificate id, doc id) pairs the ledger records
    cited: set[tuple[str, str]] = field(default_factory=set)
    # medium token -> outstanding copies on it, built when a drive certificate needs it
    on_media: dict[str, list[tuple[str, Location]]] | None = None

    @property
    def ledger_id(self) -> str | None:
        """The ledger audited (known once its first entry is walked)."""
        return self.walk.ledger_id

    def problem(self, seq: int | None, kind: str, message: str) -> None:
        self.problems.append(AuditProblem(seq, kind, message))

    def take_problems(self) -> list[AuditProblem]:
        """The problems found so far, the list started again (the report orders them by
        the stage that found them)."""
        found, self.problems = self.problems, []
        return found

    def destroy_event(
        self,
        seq: int,
        origin: Origin | None,
        event: Destroy,
        verdict: Verdict,
        holding: Holding | None,
    ) -> None:
        """Check one destroy event against its certificate's ``verdict``; ``holding`` is
        its document as the event found it. Called as verdicts arrive, while the walk
        goes on: every entry up to ``seq`` has been walked."""
        self.cited.add((event.certificate_id, event.doc_id))
        facts, failure = verdict
        if facts is None:
            self.problem(
                seq,
                "certificate",
                f"the certificate of {event.doc_id}'s destruction is not acceptable: {failure}",
            )
            return
        self.outcomes.add(facts)
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
        if (event.media or event.key_erased) and not facts.success:
            # A file is judged by its own subject (below); a medium or a key by the whole.
            self.problem(seq, "certificate", f"certificate {name} records outcome {facts.outcome}")
        self.subjects(seq, event, facts, holding)
        anchor = facts.anchor_head
        if anchor is None:
            # A certificate issued while the shared ledger was unreachable has no anchor
            # to record; its event says so (delivered from the station's outbox).
            if not event.recorded_later:
                self.problem(seq, "anchor", f"certificate {name} records no ledger anchor")
        elif origin is not None and anchor.ledger_id == origin.ledger_id:
            # Migrated (ledger migrate): the certificate anchors the ledger the event was
            # first recorded in, which is audited from its own file; it must still come
            # before the original event there.
            if anchor.seq >= origin.seq:
                self.problem(
                    seq,
                    "anchor",
                    f"certificate {name} was issued at seq {anchor.seq} of ledger "
                    f"{origin.ledger_id}, after the event there (seq {origin.seq})",
                )
        elif anchor.ledger_id == self.ledger_id and anchor.seq >= seq:
            self.problem(
                seq, "anchor", f"certificate {name} was issued at seq {anchor.seq}, after this"
            )
        else:
            # Before this event in this ledger (walked already), or in another ledger.
            self.anchor(anchor, f"certificate {name}")

    def subjects(self, seq: int, event: Destroy, facts: Facts, holding: Holding | None) -> None:
        name = facts.certificate_id
        files = {path: (doc, digest, gone) for path, doc, digest, gone in facts.files}
        for path in event.paths:
            if path not in files:
                self.problem(seq, "subject", f"certificate {name} does not name {path}")
                continue
            doc, digest, gone = files[path]
            if not gone:
                self.problem(
                    seq,
                    "subject",
                    f"certificate {name} does not record {path} as destroyed and verified "
                    f"(it records outcome {facts.outcome})",
                )
            # Recorded later (from the outbox): issued with the ledger down, the
            # certificate could name no document; its content digest (below) decides.
            if doc != event.doc_id and not (doc is None and event.recorded_later):
                self.problem(
                    seq,
                    "subject",
                    f"certificate {name} names {path} as document {doc or '(none)'}, "
                    f"not {event.doc_id}",
                )
            if holding is not None and path in holding.plaintext and digest != holding.digest:
                self.problem(
                    seq,
                    "subject",
                    f"certificate {name} destroyed content at {path} other than "
                    f"{event.doc_id}'s registered content",
                )
        for medium in event.media:
            if medium not in facts.drives:
                self.problem(seq, "subject", f"certificate {name} does not wipe medium {medium}")
        if event.key_erased:
            self.key_erasure(seq, event, facts, holding.key_id if holding is not None else None)

    def key_erasure(self, seq: int, event: Destroy, facts: Facts, key_id: str | None) -> None:
        """The certificate must erase this document's key (``key_id``), not any key."""
        name = facts.certificate_id
        if not facts.key_erasures:
            self.problem(seq, "subject", f"certificate {name} records no key erasure")
            return
        if (event.doc_id, key_id) in facts.key_erasures:
            return
        erased = ", ".join(
            f"{doc or '(no document)'} (key {key or '?'})" for doc, key in facts.key_erasures
        )
        self.problem(
            seq,
            "subject",
            f"certificate {name} erased the key of {erased}, not {event.doc_id}'s"
            + (f" (key {key_id})" if key_id else ""),
        )

    def anchor(self, anchor: Head, origin: str) -> None:
        """A head recorded outside the chain must still be in it, unchanged."""
        if self.ledger_id is not None and anchor.ledger_id != self.ledger_id:
            self.problem(
                anchor.seq,
                "foreign-ledger",
                f"{origin} was recorded in ledger {anchor.ledger_id}, not this one",
            )
            return
        head = self.walk.head
        last = head.seq if head else 0
        if anchor.seq > last:
            self.problem(
                anchor.seq,
                "truncated",
                f"the ledger ends at seq {last} but {origin} recorded seq {anchor.seq}: "
                + (
                    f"entry {anchor.seq} was cut off"
                    if anchor.seq == last + 1
                    else f"entries {last + 1}..{anchor.seq} were cut off"
                ),
            )
            return
        stored = self.walk.stored_hash(anchor.seq)
        if stored is not None and stored != anchor.hash:
            self.problem(
                anchor.seq,
                "anchor-mismatch",
                f"entry {anchor.seq} differs from the one {origin} recorded: history was rewritten",
            )

    def certificate_file(self, path: Path) -> None:
        """Check one certificate file whose certificate the ledger does not cite."""
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_CERTIFICATE_FILE + 1)
            if len(data) > MAX_CERTIFICATE_FILE:
                limit = MAX_CERTIFICATE_FILE >> 20
                self.problem(None, "certificate-file", f"{path}: larger than {limit} MiB: not read")
                return
            envelope = Envelope.from_json(data)
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
        self.outcomes.add(facts)
        anchor = facts.anchor_head
        if anchor is None:
            return
        self.anchor(anchor, f"certificate {path}")
        if anchor.ledger_id == (self.ledger_id or anchor.ledger_id):
            self.unrecorded(path, facts, anchor.seq)

    def unrecorded(self, path: Path, facts: Facts, anchor_seq: int) -> None:
        """A destruction the ledger should record after ``anchor_seq`` and does not."""
        # Each document whose own subject was destroyed, whatever the run's outcome: a
        # tree interrupted half-way has destroyed the documents it finished.
        named = dict.fromkeys(
            doc_id for _, doc_id, _, gone in facts.files if doc_id is not None and gone
        )
        for doc_id in named:
            if (facts.certificate_id, doc_id) not in self.cited:
                self.problem(
                    anchor_seq + 1,
                    "unrecorded",
                    f"certificate {path} destroyed {doc_id} after seq {anchor_seq}, but no "
                    "destroy event records it (entries were cut off or removed)",
                )
        for token in facts.drives if facts.success else ():
            for doc_id, loc in self.copies_on(token):
                if loc.seq <= anchor_seq:
                    self.problem(
                        loc.seq,
                        "unrecorded",
                        f"{doc_id}'s copy on medium {token} is outstanding, but "
                        f"certificate {path} wiped that medium after seq {anchor_seq}",
                    )

    def copies_on(self, token: str) -> list[tuple[str, Location]]:
        """(doc id, location) of each outstanding copy on medium ``token``."""
        if self.on_media is None:
            self.on_media = {}
            for doc_id, fold in self.folds.folds.items():
                for loc in fold.locations:
                    if loc.medium is not None and loc.outstanding:
                        self.on_media.setdefault(loc.medium, []).append((doc_id, loc))
        return self.on_media.get(token, [])

    def document(self, state: DocumentState) -> None:
        """Check one document's final state: copies left of a destroyed document, and
        retention."""
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
