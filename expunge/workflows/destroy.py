"""The one destruction workflow: check -> overwrite -> verify -> remove -> certify -> record.

Every check that can refuse runs for every target before the first byte is written, and
again on the open descriptor right before writing. Layer 2: it ties together ``shred``
(overwriting), ``verify`` (read-back), ``certificates`` and ``ledger``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import blake3

from expunge.certificates import LedgerAnchor, Media
from expunge.certificates import Limitation as CertLimitation
from expunge.certificates.subjects import FileSubject
from expunge.core.clock import utc_now
from expunge.core.errors import ExpungeError, RefusedError, TargetError, UsageError
from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.ledger.state import Location
from expunge.shred import files
from expunge.shred.files import FileOptions, OpenFile
from expunge.shred.journal import (
    JournalEvent,
    JournalTarget,
    WipeJournal,
    find_journal,
)
from expunge.shred.methods import Method, is_crypto_erase, resolve
from expunge.shred.overwrite import PassOptions, run_passes
from expunge.shred.report import PassResult, WipeReport
from expunge.shred.resume import JournaledRun, journaled_passes, pending_journal
from expunge.verify import VerificationReport, VerifyOptions, make_plan, verify_fd
from expunge.workflows import certify, cryptoerase, records

Outcome = Literal["success", "failed", "partial", "interrupted"]
_FINGERPRINT_CHUNK = 4 << 20


@dataclass(frozen=True)
class ShredRequest:
    """Everything ``expunge shred`` was asked to do."""

    paths: tuple[str, ...]
    method: Method
    recursive: bool = False
    keep: bool = False
    dry_run: bool = False
    remove_on_failure: bool = False
    fingerprint: bool = False
    file_options: FileOptions = field(default_factory=FileOptions)
    verify: VerifyOptions = field(default_factory=VerifyOptions)
    resume: bool = False
    on_error: Literal["continue", "abort"] = "continue"

    def __post_init__(self) -> None:
        if is_crypto_erase(self.method):
            raise UsageError(
                f"{self.method.name} erases LUKS volumes, not files",
                target="--method",
                remedy="use an overwrite method (see 'expunge methods'); for a LUKS container "
                "file use 'expunge shred -m luks-erase FILE'",
            )


@dataclass(frozen=True)
class FileOutcome:
    """One file: what the overwrite did, what read-back found, whether it is gone."""

    path: str
    wipe: WipeReport
    verification: VerificationReport | None = None
    pass_verifications: tuple[VerificationReport, ...] = ()
    content_digest: str | None = None
    journal_events: tuple[JournalEvent, ...] = ()

    @property
    def verified(self) -> bool:
        """Whether the final pass was read back and matched (False when not verified)."""
        return self.verification is not None and self.verification.status == "success"

    @property
    def status(self) -> Outcome:
        """The overwrite's status, failed by any read-back that did not match.

        No file is ever ``success`` with a verification that found a mismatch.
        """
        status = self.wipe.status
        if status != "success":
            return status
        checks = (*self.pass_verifications, *(v for v in [self.verification] if v))
        if any(v.interrupted for v in checks):
            return "interrupted"
        if any(v.status == "failed" for v in checks):
            return "failed"
        return "success"

    @property
    def verification_failed(self) -> bool:
        """A read-back found content other than what was written."""
        checks = (*self.pass_verifications, *(v for v in [self.verification] if v))
        return any(v.status == "failed" and not v.interrupted for v in checks)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "path": self.path,
            "status": self.status,
            "content_blake3": self.content_digest,
            "wipe": self.wipe.to_dict(),
            "verification": self.verification.to_dict() if self.verification else None,
            "pass_verifications": [v.to_dict() for v in self.pass_verifications],
        }


@dataclass(frozen=True)
class Destruction:
    """One top-level PATH argument: a file, or a directory and everything in it."""

    target: str
    kind: Literal["file", "directory", "document"]
    files: tuple[FileOutcome, ...]
    started: datetime
    finished: datetime
    removed_entries: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    interrupted: bool = False
    certificate: certify.IssuedCertificate | None = None
    ledger: records.LedgerUpdate | None = None

    @property
    def status(self) -> Outcome:
        """``success`` only when every file succeeded and nothing else went wrong."""
        if self.interrupted or any(f.status == "interrupted" for f in self.files):
            return "interrupted"
        if not self.errors and all(f.status == "success" for f in self.files):
            return "success"
        if any(f.status == "success" for f in self.files) or any(
            f.status == "partial" for f in self.files
        ):
            return "partial"
        return "failed"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "target": self.target,
            "kind": self.kind,
            "status": self.status,
            "files": [f.to_dict() for f in self.files],
            "certificate": str(self.certificate.path) if self.certificate else None,
            "certificate_outcome": self.certificate.outcome if self.certificate else None,
            "removed_entries": list(self.removed_entries),
            "skipped": list(self.skipped),
            "errors": list(self.errors),
            "ledger": self.ledger.to_dict() if self.ledger else None,
        }


@dataclass(frozen=True)
class PlannedFile:
    """What a dry run found: a file that would be destroyed, and its limitations."""

    path: str
    size: int
    filesystem: str
    limitations: tuple[str, ...]
    documents: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "path": self.path,
            "size": self.size,
            "filesystem": self.filesystem,
            "limitations": list(self.limitations),
            "documents": list(self.documents),
        }


def _check_top_level(path: str, recursive: bool) -> Literal["file", "directory"]:
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise files.target_error(exc, path) from exc
    if stat.S_ISDIR(st.st_mode):
        if not recursive:
            raise TargetError("is a directory", target=path, remedy="use -r to destroy it")
        return "directory"
    return "file"


def preflight(
    request: ShredRequest, ledger: records.LedgerLink | None = None
) -> tuple[PlannedFile, ...]:
    """Run every check on every target without writing; raise the first refusal.

    Opening for writing changes nothing on disk; each file is opened, checked, closed.
    With ``ledger``, files recorded there as documents are named, and a method or
    verification weaker than a document's classification requires is refused.
    """
    return _checked(request, ledger)[0]


def _checked(
    request: ShredRequest, ledger: records.LedgerLink | None, journals: Path | None = None
) -> tuple[tuple[PlannedFile, ...], dict[str, tuple[records.RegisteredLocation, ...]]]:
    planned = _plan_files(request, journals)
    if ledger is None:
        return planned, {}
    found = records.locate(ledger.store, request.paths, utc_now())
    registered = {p.path: found[p.path] for p in planned if p.path in found}
    records.check_policy(
        (loc for locs in registered.values() for loc in locs),
        request.method,
        request.verify.mode,
        ledger.policy,
    )
    planned = tuple(
        replace(p, documents=tuple(loc.doc_id for loc in registered.get(p.path, ())))
        for p in planned
    )
    return planned, registered


def _plan_files(request: ShredRequest, journals: Path | None = None) -> tuple[PlannedFile, ...]:
    planned: list[PlannedFile] = []

    def check(opened: OpenFile) -> None:
        with opened:
            if journals is not None:
                # A pending or foreign journal refuses every path, before the first write.
                target = JournalTarget.from_identity(opened.identity)
                pending_journal(journals, target, request.method, resume=request.resume)
            planned.append(
                PlannedFile(
                    opened.path,
                    opened.identity.size,
                    opened.identity.filesystem,
                    tuple(lim.code for lim in opened.limitations),
                )
            )

    for path in request.paths:
        if _check_top_level(path, request.recursive) == "file":
            check(files.open_file(path, request.file_options))
            continue
        parent_fd, dir_fd, _ = files.open_tree(path, request.file_options)
        try:
            for entry in files.walk_tree(dir_fd, path, request.file_options):
                if entry.kind == "file":
                    check(
                        files.open_file_at(
                            entry.dir_fd, entry.name, entry.path, request.file_options
                        )
                    )
        finally:
            os.close(dir_fd)
            os.close(parent_fd)
    return tuple(planned)


def fingerprint(fd: int) -> str:
    """BLAKE3 of the file's content, read through the same open file (``/proc/self/fd``)."""
    hasher = blake3.blake3()
    read_fd = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        while chunk := os.read(read_fd, _FINGERPRINT_CHUNK):
            hasher.update(chunk)
    finally:
        os.close(read_fd)
    return hasher.hexdigest()


@dataclass
class _Run:
    request: ShredRequest
    progress: ProgressSink
    stop: StopRequest | None
    confirm: Callable[[str], bool] | None
    # Registered paths: their content is hashed before wiping, to confirm the document.
    registered: Mapping[str, object] = field(default_factory=dict)
    # Where wipe journals live; without it nothing is journaled (and nothing resumes).
    journal_dir: Path | None = None
    # Journals of wipes whose outcome is final: removed once their certificate is written.
    finished: list[WipeJournal] = field(default_factory=list)

    def destroy_file(self, target: OpenFile) -> FileOutcome:
        hashed = self.request.fingerprint or target.path in self.registered
        digest = fingerprint(target.fd) if hashed else None
        passes = resolve(self.request.method)
        options = PassOptions(
            block_size=512,
            buffered=True,
            on_error=self.request.on_error,
            progress=self.progress,
            task=target.path,
            stop=self.stop,
        )
        verify = self.request.verify
        per_pass: list[VerificationReport] = []

        def check_pass(result: PassResult) -> None:
            per_pass.append(self.read_back(target, result))

        after = check_pass if verify.every_pass and verify.mode != "none" else None
        journaled: JournaledRun | None = None
        if self.journal_dir is None:
            results = run_passes(target.fd, target.identity.size, passes, options, after_pass=after)
        else:
            journaled = journaled_passes(
                target.fd,
                JournalTarget.from_identity(target.identity),
                self.request.method,
                self.journal_dir,
                options,
                resume=self.request.resume,
                stop=self.stop,
                after_pass=after,
            )
            results = journaled.passes
        report = WipeReport(
            identity=target.identity,
            method=self.request.method.name,
            passes=results,
            planned_passes=len(passes),
            limitations=target.limitations,
            interrupted=self.stopped,
        )
        final: VerificationReport | None = None
        if verify.every_pass and per_pass and len(per_pass) == len(results):
            final = per_pass.pop()
        elif report.status == "success" and verify.mode != "none":
            final = self.read_back(target, results[-1])
        events = journaled.events if journaled else ()
        outcome = FileOutcome(target.path, report, final, tuple(per_pass), digest, events)
        if journaled is not None and outcome.status != "interrupted":
            self.finished.append(journaled.journal)
        done = outcome.status == "success"
        if not self.request.keep and (done or self.request.remove_on_failure):
            # Verified before the name goes: a failed file is kept for inspection.
            files.remove_file(target)
            outcome = replace(outcome, wipe=report.marked_removed())
        return outcome

    def read_back(self, target: OpenFile, result: PassResult) -> VerificationReport:
        verify = self.request.verify
        plan = make_plan(target.identity.size, verify.mode, coverage=verify.coverage)
        return verify_fd(
            target.fd,
            result.pattern,
            plan,
            progress=self.progress,
            task=f"{target.path} verify",
            stop=self.stop,
            name=target.path,
        )

    def destroy_path(self, path: str) -> Destruction:
        kind = _check_top_level(path, self.request.recursive)
        started = utc_now()
        if kind == "file":
            if self.confirm is not None and not self.confirm(path):
                return Destruction(path, "file", (), started, utc_now(), skipped=(path,))
            with files.open_file(path, self.request.file_options) as target:
                outcome = self.destroy_file(target)
            return Destruction(
                path, "file", (outcome,), started, utc_now(), interrupted=self.stopped
            )
        return self.destroy_tree(path, started)

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def destroy_tree(self, path: str, started: datetime) -> Destruction:
        options = self.request.file_options
        outcomes: list[FileOutcome] = []
        removed: list[str] = []
        skipped: list[str] = []
        errors: list[str] = []
        parent_fd, dir_fd, name = files.open_tree(path, options)
        try:
            for entry in files.walk_tree(dir_fd, path, options):
                if self.stop is not None and self.stop.is_set():
                    break
                if self.confirm is not None and not self.confirm(entry.path):
                    skipped.append(entry.path)
                    continue
                try:
                    if entry.kind == "file":
                        with files.open_file_at(entry.dir_fd, entry.name, entry.path, options) as t:
                            outcomes.append(self.destroy_file(t))
                    elif self.request.keep:
                        continue
                    elif entry.kind == "other":
                        files.remove_other(entry.dir_fd, entry.name)
                        removed.append(entry.path)
                    else:
                        files.remove_directory(entry.dir_fd, entry.name)
                        removed.append(entry.path)
                except ExpungeError as exc:
                    errors.append(exc.diagnostics())
                except OSError as exc:
                    errors.append(f"{entry.path}: {exc.strerror}")
            interrupted = self.stopped
            if not self.request.keep and not interrupted and not errors and not skipped:
                os.close(dir_fd)
                dir_fd = -1
                try:
                    files.remove_directory(parent_fd, name)
                    removed.append(path)
                except OSError as exc:
                    errors.append(f"{path}: not removed: {exc.strerror}")
        finally:
            if dir_fd >= 0:
                os.close(dir_fd)
            os.close(parent_fd)
        return Destruction(
            path,
            "directory",
            tuple(outcomes),
            started,
            utc_now(),
            removed_entries=tuple(removed),
            skipped=tuple(skipped),
            errors=tuple(errors),
            interrupted=interrupted,
        )


def shred_paths(
    request: ShredRequest,
    station: certify.Station,
    *,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
    confirm: Callable[[str], bool] | None = None,
    cert_out: Path | None = None,
    ledger: records.LedgerLink | None = None,
) -> tuple[Destruction, ...]:
    """Destroy every path in ``request``, one signed certificate per path.

    Refuses all of them if any one is refused, before anything is written. ``confirm``
    (for ``-i``) is asked before each file; ``stop`` ends the work after the current
    buffer, and what was done is still certified, as interrupted. ``cert_out`` names the
    certificate file (one path only).

    With ``ledger``: files recorded as documents are checked against their
    classification before anything is written and hashed before wiping; each certificate
    records the ledger anchor and the document ids of the files whose content was
    confirmed, and a successful one is recorded by ``destroy`` events citing it.
    """
    if cert_out is not None and len(request.paths) != 1:
        raise UsageError(
            "--cert-out names one certificate, but several paths were given",
            target="--cert-out",
            remedy="give one path per command, or let certificates go to the home folder",
        )
    # Certificates name absolute paths; symlinks in parent folders are kept as given.
    request = replace(request, paths=tuple(os.path.abspath(p) for p in request.paths))
    _, registered = _checked(request, ledger, station.home.journal)
    station.ready()
    run = _Run(request, progress, stop, confirm, registered, station.home.journal)
    results: list[Destruction] = []
    for path in request.paths:
        if run.stopped:
            break
        done = run.destroy_path(path)
        results.append(_certify(done, request, stop, station, cert_out, ledger, registered))
        # Certified: the journals of finished wipes are no longer needed to resume.
        while run.finished:
            run.finished.pop().complete()
    return tuple(results)


@dataclass(frozen=True)
class DocumentDestruction:
    """``expunge destroy DOC``: the files destroyed under one certificate, and the
    recorded locations still outstanding afterwards (media not present, missing paths,
    files whose content was not the document's)."""

    doc_id: str
    classification: str
    destruction: Destruction
    outstanding: tuple[Location, ...]
    untouched: tuple[str, ...] = ()

    @property
    def status(self) -> Outcome:
        """The destruction's status (outstanding copies do not fail it: they are listed)."""
        return self.destruction.status

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "doc_id": self.doc_id,
            "classification": self.classification,
            **self.destruction.to_dict(),
            "outstanding": [loc.to_dict() for loc in self.outstanding],
            "untouched": list(self.untouched),
        }


def _open_document_files(
    plan: records.DocumentPlan, options: FileOptions, journals: Path
) -> tuple[list[tuple[OpenFile, str]], list[str]]:
    """Open and check every reachable file, hashing it through the descriptor that will
    be wiped; files whose content is not the document's are closed and left alone.

    A file whose overwrite this station began and was interrupted (a wipe journal for
    that very file: same device, inode and size) no longer holds the document's content
    but is the document's file: it is taken, to be resumed, under the registered digest
    that was confirmed before its first write.
    """
    opened: list[tuple[OpenFile, str]] = []
    untouched: list[str] = []
    try:
        for loc in plan.reachable:
            target = files.open_file(loc.path, options)
            digest = fingerprint(target.fd)
            if loc.confirmed_by(digest):
                opened.append((target, digest))
            elif loc.expected_digest is not None and (
                find_journal(journals, JournalTarget.from_identity(target.identity)) is not None
            ):
                opened.append((target, loc.expected_digest))
            else:
                target.close()
                untouched.append(loc.path)
    except BaseException:
        for target, _ in opened:
            target.close()
        raise
    return opened, untouched


def _location_note(loc: Location, untouched: Sequence[str]) -> str:
    if loc.path is None:
        return f"medium {loc.medium} (seq {loc.seq}): not present"
    why = "content is not the document's" if loc.path in untouched else "not present"
    return f"{loc.path} (seq {loc.seq}): {why}"


def destroy_document(
    doc_id: str,
    station: certify.Station,
    ledger: records.LedgerLink,
    *,
    method: Method,
    verify: VerifyOptions = VerifyOptions(),
    file_options: FileOptions | None = None,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
    cert_out: Path | None = None,
) -> DocumentDestruction:
    """Destroy a registered document: the original and every recorded copy present by path,
    under one certificate, recorded by one ``destroy`` event.

    Before anything is written: the method and verification are checked against the
    document's classification, and every present file is opened, checked like ``shred``
    does and hashed; a file whose content is not the registered document's is left
    untouched. Copies on media and at paths that no longer exist stay outstanding; they
    are named in the certificate's notes and in the result. Refused when nothing is left
    to destroy.

    A sealed document is destroyed by cryptographic erase: its key is destroyed in the key
    store (``cryptoerase.erase_document_key``) and the reachable files are overwritten as
    well, under the same certificate; copies out of reach die with the key.
    """
    state = records.document(ledger.store, doc_id, utc_now())
    plan = records.plan_document(state)
    records.check_policy(plan.reachable, method, verify.mode, ledger.policy)
    sealed = cryptoerase.sealed_and_keyed(state)
    if not plan.reachable and not sealed:
        if not plan.unreachable:
            raise TargetError(
                f"already destroyed (seq {state.destructions[-1].seq}, certificate "
                f"{state.destructions[-1].certificate_id}); nothing is outstanding",
                target=doc_id,
                remedy="see 'expunge ledger show'",
            )
        raise TargetError(
            "no recorded location of the document is present: "
            + ", ".join(_location_note(loc, ()) for loc in plan.unreachable),
            target=doc_id,
            remedy="mount or attach the medium holding a copy and run again",
        )
    file_options = file_options or FileOptions()
    opened, untouched = _open_document_files(plan, file_options, station.home.journal)
    try:
        if not opened and not sealed:
            raise RefusedError(
                f"the file(s) at {', '.join(untouched)} do not hold the registered content",
                target=doc_id,
                remedy="nothing was written; check 'expunge ledger show' and the files",
            )
        # Journaled like every overwrite; an interrupted destruction of this document
        # (a killed sweep, say) is resumed from its journal rather than refused.
        request = ShredRequest(
            paths=tuple(t.path for t, _ in opened),
            method=method,
            verify=verify,
            file_options=file_options,
            resume=True,
        )
        station.ready()
        run = _Run(request, progress, stop, None, journal_dir=station.home.journal)
        started = utc_now()
        erasure = None
        if sealed:
            plaintext = tuple(
                loc.path
                for loc in plan.reachable
                if loc.expected_digest is not None and loc.path in request.paths
            )
            erasure = cryptoerase.erase_document_key(station.home, state, plaintext, now=started)
        outcomes: list[FileOutcome] = []
        for target, digest in opened:
            if run.stopped:
                break
            outcomes.append(replace(run.destroy_file(target), content_digest=digest))
    finally:
        for target, _ in opened:
            target.close()
    done = Destruction(
        doc_id, "document", tuple(outcomes), started, utc_now(), interrupted=run.stopped
    )
    left = [
        loc
        for loc in state.locations
        if loc.outstanding and (loc.path is None or loc.path not in request.paths)
    ]
    notes = [f"document {doc_id} ({state.classification})"]
    if left:
        notes.append(
            "recorded locations not destroyed: "
            + ", ".join(_location_note(loc, untouched) for loc in left)
        )
    registered = {loc.path: (loc,) for loc in plan.reachable if loc.path in request.paths}
    result = _certify(done, request, stop, station, cert_out, ledger, registered, notes, erasure)
    while run.finished:
        run.finished.pop().complete()
    after = records.document(ledger.store, doc_id, utc_now())
    return DocumentDestruction(
        doc_id,
        state.classification,
        result,
        tuple(loc for loc in after.locations if loc.outstanding),
        tuple(untouched),
    )


@dataclass(frozen=True)
class Sealing:
    """``expunge seal PATH``: the sealed document, and the shredding of its plaintext."""

    sealed: cryptoerase.SealedDocument
    plaintext: Destruction

    @property
    def status(self) -> Outcome:
        """The plaintext's destruction status (the sealing itself succeeded or raised)."""
        return self.plaintext.status

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.sealed.to_dict(), "plaintext": self.plaintext.to_dict()}


def seal_document(
    path: str,
    station: certify.Station,
    ledger: records.LedgerLink,
    *,
    doc_id: str | None,
    classification: str | None,
    method: Method,
    verify: VerifyOptions = VerifyOptions(),
    file_options: FileOptions | None = None,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
    cert_out: Path | None = None,
) -> Sealing:
    """Seal the document at ``path`` (registering it if needed), then shred the plaintext.

    The plaintext's shredding is checked (file checks, and the classification's policy)
    before anything is sealed; it gets its own certificate, recorded in the ledger as the
    destruction of the original location.
    """
    request = ShredRequest(
        paths=(os.path.abspath(path),),
        method=method,
        verify=verify,
        file_options=file_options or FileOptions(),
    )
    preflight(request, ledger)
    cryptoerase.check_sealable(
        ledger.store,
        records.read_content(request.paths[0]),
        doc_id=doc_id,
        classification=classification,
        now=utc_now(),
    )
    if classification is not None:
        ledger.policy.require(classification)
        pending = records.RegisteredLocation(
            request.paths[0], doc_id or "the document", classification, 0, "original", None
        )
        records.check_policy((pending,), method, verify.mode, ledger.policy)
    station.ready()
    sealed = cryptoerase.seal_document(
        station.home,
        ledger.store,
        request.paths[0],
        doc_id=doc_id,
        classification=classification,
        policy=ledger.policy,
        actor=ledger.actor,
        now=utc_now(),
    )
    (done,) = shred_paths(
        request, station, progress=progress, stop=stop, cert_out=cert_out, ledger=ledger
    )
    return Sealing(sealed, done)


def _anchor(ledger: records.LedgerLink | None) -> LedgerAnchor | None:
    try:
        return records.current_anchor(ledger.store if ledger else None)
    except ExpungeError:
        # The destruction is done: its certificate is issued even when the ledger cannot
        # be read; recording then fails too, and says why.
        return None


def _certify(
    done: Destruction,
    request: ShredRequest,
    stop: StopRequest | None,
    station: certify.Station,
    cert_out: Path | None,
    ledger: records.LedgerLink | None,
    registered: Mapping[str, Sequence[records.RegisteredLocation]],
    notes: Sequence[str] = (),
    erasure: cryptoerase.KeyErasureOutcome | None = None,
) -> Destruction:
    """Issue the certificate of ``done`` and record it in the ledger."""
    digests = {f.path: f.content_digest for f in done.files if f.path in registered}
    documents, unconfirmed = records.confirmed_documents(registered, digests)
    draft = _draft(
        done, request, stop, records.document_ids(documents), _anchor(ledger), notes, erasure
    )
    issued = certify.issue(draft, station, cert_out)
    update = None
    if erasure is not None:
        cryptoerase.record_key_certificate(
            station.home, erasure.doc_id, issued.certificate.certificate_id
        )
    if ledger is not None and erasure is not None:
        update = records.record_key_erased(
            ledger.store,
            issued,
            erasure.doc_id,
            documents.get(erasure.doc_id, ()),
            unconfirmed,
            actor=ledger.actor,
            now=utc_now(),
        )
    elif ledger is not None:
        update = records.record_files_destroyed(
            ledger.store, issued, documents, unconfirmed, actor=ledger.actor, now=utc_now()
        )
    return replace(done, certificate=issued, ledger=update)


def _file_subject(outcome: FileOutcome, document_id: str | None) -> FileSubject:
    ident = outcome.wipe.identity
    return FileSubject(
        path=ident.path,
        size=ident.size,
        inode=ident.inode,
        device=ident.device,
        filesystem=ident.filesystem,
        content_blake3=outcome.content_digest,
        document_id=document_id,
    )


def _draft(
    done: Destruction,
    request: ShredRequest,
    stop: StopRequest | None,
    documents: Mapping[str, str],
    anchor: LedgerAnchor | None,
    notes: Sequence[str],
    erasure: cryptoerase.KeyErasureOutcome | None = None,
) -> certify.CertificateDraft:
    subjects = []
    limitations: dict[tuple[str, str], CertLimitation] = {}
    errors: list[str] = list(done.errors)
    resumes: list[str] = []
    for outcome in done.files:
        wipe = outcome.wipe
        checks = [(v, i) for i, v in enumerate(outcome.pass_verifications)]
        if outcome.verification is not None:
            checks.append((outcome.verification, len(wipe.passes) - 1))
        removed: bool | None = None if request.keep else wipe.removed
        subject = _file_subject(outcome, documents.get(outcome.path))
        subjects.append(certify.subject_record(subject, wipe, checks, removed))
        for lim in wipe.limitations:
            limitations.setdefault(
                (lim.code, outcome.path), certify.limitation_record(lim, outcome.path)
            )
        errors.extend(f"{outcome.path}: {e}" for e in wipe.errors)
        errors.extend(f"{outcome.path}: pass {p.index}: {p.error}" for p in wipe.passes if p.error)
        resumes.extend(certify.journal_notes(outcome.journal_events, outcome.path))
    flash = any(code == "flash-media" for code, _ in limitations)
    note = (
        "; the medium is flash: remapped and over-provisioned blocks were not addressed"
        if flash
        else ""
    )
    sanitization = certify.sanitization(request.method, request.verify.mode, note)
    if erasure is not None:
        subjects.append(erasure.subject_record())
        sanitization = erasure.sanitization(
            f"{request.method.name} ({request.method.describe_passes()})" if done.files else "none"
        )
    filesystems = sorted(
        {r.subject.filesystem for r in subjects if isinstance(r.subject, FileSubject)}
    ) or ["unknown"]
    all_notes = [*notes, *resumes]
    if done.skipped:
        all_notes.append(f"skipped at the operator's request: {', '.join(done.skipped)}")
    interrupted_by = (stop.reason or "signal") if done.interrupted and stop is not None else None
    if interrupted_by is None and done.status == "interrupted":
        # Not stopped by the operator: a medium that stopped answering says so in its pass.
        gone = [p.error for f in done.files for p in f.wipe.passes if p.interrupted and p.error]
        interrupted_by = gone[0] if gone else "stopped"
    return certify.CertificateDraft(
        target=done.target,
        started=done.started,
        finished=done.finished,
        media=Media("", "", "", f"{done.kind} on {', '.join(filesystems)}", "", ""),
        sanitization=sanitization,
        subjects=tuple(subjects),
        limitations=tuple(limitations.values()),
        errors=certify.error_records(errors, done.target),
        interrupted_by=interrupted_by,
        destination="file removed" if not request.keep else "file kept (--keep)",
        notes="; ".join(all_notes),
        ledger_anchor=anchor,
    )
