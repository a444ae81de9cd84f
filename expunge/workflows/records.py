"""The ledger tied to destruction and certificates (layer 2).

The ledger (layer 1) knows nothing of certificates and the certificates nothing of the
ledger; this module joins them:

- *registering and copying*: a document's digest and size are read from the file itself;
  its classification must be a level of the station's policy;
- *finding what a destruction touches*: outstanding locations recorded at the paths about
  to be destroyed, each with the classification that sets the weakest destruction allowed
  (checked before anything is written);
- *recording*: after a certificate is issued, ``destroy`` events citing it (its id, the
  SHA-256 of its payload and the signed envelope itself).

**The ledger anchor of a certificate.** A certificate is signed before the ``destroy``
event that cites it can exist (the event carries the signed envelope), so the anchor it
records is the ledger's head read right before signing: ``(ledger id, seq, hash)`` of the
last entry then. It says "this ledger had at least ``seq`` entries, and entry ``seq`` had
this hash, when the certificate was issued"; every event citing the certificate comes
later (``seq`` greater than the anchor's). An audit holding the certificate detects a
ledger cut below the anchor or rewritten up to it; the events after the anchor are
covered by a second check: every certificate naming a document (``FileSubject.document_id``)
must be cited by a ``destroy`` event of that document.

**Policy file.** ``<home>/policy.toml`` may hold a ``[classification.LEVEL]`` table per
level (keys ``methods``, ``min_passes``, ``min_verify``; see
``ledger/classification.py``). A table for a default level replaces that level's rule; a
new name adds a level after the defaults. Other top-level tables belong to ``expunge
sweep``, which validates them.
"""

from __future__ import annotations

import errno
import os
import stat
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import blake3
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge.certificates import (
    DriveSubject,
    LedgerAnchor,
    TrustStore,
    keyid,
)
from expunge.core.canonical import canonical_bytes
from expunge.core.config import Home
from expunge.core.errors import ExpungeError, IntegrityError, RefusedError, TargetError, UsageError
from expunge.ledger.chain import CheckpointSigner, CheckpointVerifier
from expunge.ledger.classification import (
    DEFAULT_POLICY,
    ClassificationPolicy,
    LevelRule,
    check_destruction_allowed,
)
from expunge.ledger.entries import Entry
from expunge.ledger.events import Copy, Destroy, Register, Transfer
from expunge.ledger.state import DocumentState, Location, document_state
from expunge.ledger.store import LedgerStore, SQLiteLedgerStore
from expunge.shred.files import target_error
from expunge.shred.methods import Method
from expunge.workflows.certify import IssuedCertificate

_READ_CHUNK = 4 << 20


# ---------------------------------------------------------------- opening and policy


def create_ledger(home: Home) -> SQLiteLedgerStore:
    """The home's ledger (``<home>/ledger.db``), created when absent."""
    home.ensure()
    return SQLiteLedgerStore(home.ledger_path, create=True)


def existing_ledger(home: Home) -> SQLiteLedgerStore | None:
    """The home's ledger, or ``None`` when no document was ever registered here."""
    if not home.ledger_path.exists():
        return None
    return SQLiteLedgerStore(home.ledger_path, create=False)


@dataclass(frozen=True)
class LedgerLink:
    """The ledger as a destruction uses it: where to record, whose policy, who acts."""

    store: LedgerStore
    policy: ClassificationPolicy
    actor: str


@contextmanager
def station_ledger(home: Home, actor: str) -> Iterator[LedgerLink | None]:
    """The home's ledger and policy, for a destruction by ``actor``; ``None`` (nothing to
    record, no document to protect) when no ledger exists. Closed on exit."""
    store = existing_ledger(home)
    if store is None:
        yield None
        return
    with store:
        yield LedgerLink(store, load_policy(home), actor)


def require_ledger(home: Home) -> SQLiteLedgerStore:
    """The home's ledger, which must exist (commands about registered documents)."""
    store = existing_ledger(home)
    if store is None:
        raise TargetError(
            "there is no ledger here: no document was ever registered",
            target=str(home.ledger_path),
            remedy="register one with 'expunge ledger register PATH', or check --home",
        )
    return store


def policy_from_toml(data: Mapping[str, Any], source: str) -> ClassificationPolicy:
    """The policy a parsed ``policy.toml`` defines: its ``[classification]`` tables over
    the defaults (see the module docstring)."""
    tables = data.get("classification", {})
    if not isinstance(tables, Mapping):
        raise UsageError("[classification] must be a table of levels", target=source)
    given = ClassificationPolicy.from_dict(tables, source) if tables else None
    if given is None:
        return DEFAULT_POLICY
    overrides = {rule.name: rule for rule in given.levels}
    merged = [overrides.pop(rule.name, rule) for rule in DEFAULT_POLICY.levels]
    return ClassificationPolicy((*merged, *overrides.values()))


def load_policy(home: Home) -> ClassificationPolicy:
    """The station's classification policy: ``<home>/policy.toml``, else the defaults."""
    path = home.policy_path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return DEFAULT_POLICY
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read the policy: {exc}", target=str(path), remedy="fix the file"
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"not valid TOML: {exc}", target=str(path), remedy="fix the file") from exc
    return policy_from_toml(data, str(path))


def describe_rule(rule: LevelRule) -> str:
    """What a level requires, as people read it."""
    methods = (
        "any method" if rule.methods is None else "method " + " or ".join(sorted(rule.methods))
    )
    passes = f"at least {rule.min_passes} pass{'es' if rule.min_passes > 1 else ''}"
    return f"{rule.name} requires {methods}, {passes}, verification {rule.min_verify} or stronger"


# ---------------------------------------------------------------- documents


@dataclass(frozen=True)
class FileContent:
    """A file's size and BLAKE3 digest, read through one descriptor."""

    path: str
    size: int
    digest: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"path": self.path, "size": self.size, "digest": self.digest}


def read_content(path: str) -> FileContent:
    """Size and BLAKE3 of the regular file at ``path`` (made absolute; a symlink is
    refused, not followed)."""
    path = os.path.abspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise TargetError(
                "is a symbolic link", target=path, remedy="name the file it points to"
            ) from None
        raise target_error(exc, path) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise TargetError(
                "not a regular file", target=path, remedy="documents are regular files"
            )
        hasher = blake3.blake3()
        while chunk := os.read(fd, _READ_CHUNK):
            hasher.update(chunk)
    except OSError as exc:
        raise target_error(exc, path) from None
    finally:
        os.close(fd)
    return FileContent(path, st.st_size, hasher.hexdigest())


def document(store: LedgerStore, doc_id: str, now: datetime) -> DocumentState:
    """The state of ``doc_id``; a target error naming it when it is not registered."""
    state = document_state(store.document_entries(doc_id), doc_id, now)
    if state is None:
        raise TargetError(
            "no such document in the ledger",
            target=doc_id,
            remedy="see 'expunge ledger list' for registered documents",
        )
    return state


def _refuse_taken(store: LedgerStore, path: str, now: datetime) -> None:
    taken = locate(store, (path,), now).get(path, ())
    if taken:
        raise UsageError(
            f"{taken[0].doc_id} is already recorded here (seq {taken[0].seq})",
            target=path,
            remedy="one path holds one document: destroy it first, or choose another path",
        )


def register_document(
    store: LedgerStore,
    content: FileContent,
    *,
    classification: str,
    policy: ClassificationPolicy,
    title: str | None,
    custodian: str,
    doc_id: str | None,
    retain_until: datetime | None,
    actor: str,
    now: datetime,
) -> Entry:
    """Register the file read as ``content`` (``read_content``), its level checked
    against ``policy``; the id is generated (``DOC-<year>-<n>``) unless given."""
    policy.require(classification)
    _refuse_taken(store, content.path, now)

    def make(new_id: str) -> Register:
        return Register(
            doc_id=new_id,
            title=Path(content.path).name if title is None else title,
            classification=classification,
            custodian=custodian,
            path=content.path,
            size=content.size,
            digest=content.digest,
            retain_until=retain_until,
        )

    if doc_id is None:
        return store.register_new(make, actor=actor, now=now)
    return store.append(make(doc_id), actor=actor, now=now)


def record_copy(
    store: LedgerStore,
    doc_id: str,
    *,
    to_path: str | None,
    to_medium: str | None,
    actor: str,
    now: datetime,
) -> Entry:
    """Record a copy of ``doc_id``. A copy at a path must exist and, for a plaintext
    document, hold the registered content (its digest is compared)."""
    state = document(store, doc_id, now)
    if to_path is not None:
        content = read_content(to_path)
        to_path = content.path
        if not state.primary.ciphertext and content.digest != state.digest:
            raise TargetError(
                f"not a copy of {doc_id}: its content differs from the registered one",
                target=to_path,
                remedy="copy the document there first, then record the copy",
            )
        _refuse_taken(store, to_path, now)
    return store.append(Copy(doc_id, to_path, to_medium), actor=actor, now=now)


def record_transfer(
    store: LedgerStore, doc_id: str, custodian: str, *, actor: str, now: datetime
) -> Entry:
    """Record that custody of ``doc_id`` passes to ``custodian``."""
    document(store, doc_id, now)
    return store.append(Transfer(doc_id, custodian), actor=actor, now=now)


# ---------------------------------------------------------------- checkpoints


def station_signer(key: Ed25519PrivateKey) -> CheckpointSigner:
    """Checkpoints signed with the station key (``keyid`` as in certificates)."""
    kid = keyid(key.public_key())
    return lambda message: (kid, key.sign(message))


def trust_verifier(trust: TrustStore) -> CheckpointVerifier:
    """Checkpoint signatures accepted when made by a key of ``trust``."""

    def verify(message: bytes, kid: str, signature: bytes) -> bool:
        public = trust.public_keys.get(kid)
        if public is None:
            raise IntegrityError(f"signed by key {kid}, which is not in the trust store")
        try:
            public.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    return verify


def current_anchor(store: LedgerStore | None) -> LedgerAnchor | None:
    """The ledger's head now, as a certificate records it (see the module docstring);
    ``None`` without a ledger or for an empty one."""
    head = store.head() if store is not None else None
    if head is None:
        return None
    return LedgerAnchor(head.ledger_id, head.seq, head.hash.hex())


# ---------------------------------------------------------------- what a destruction touches


@dataclass(frozen=True)
class RegisteredLocation:
    """An outstanding location of a document at a path about to be destroyed.

    ``expected_digest`` is the content the ledger recorded for it; ``None`` for ciphertext
    (a sealed file), which the ledger has no digest of and which matches by path alone.
    """

    path: str
    doc_id: str
    classification: str
    seq: int
    kind: str
    expected_digest: str | None

    def confirmed_by(self, digest: str | None) -> bool:
        """Whether content with ``digest`` is this document (read before wiping)."""
        return self.expected_digest is None or digest == self.expected_digest

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "path": self.path,
            "doc_id": self.doc_id,
            "classification": self.classification,
            "seq": self.seq,
            "kind": self.kind,
        }


def _needles(values: Iterable[str], *, prefixes: bool) -> tuple[bytes, ...]:
    found: list[bytes] = []
    for value in values:
        quoted = canonical_bytes(value)
        found.append(quoted)
        if prefixes:
            found.append(quoted[:-1] + b"/")
    return tuple(found)


def _candidates(store: LedgerStore, needles: tuple[bytes, ...]) -> list[str]:
    """Documents with an entry whose record contains one of ``needles`` (JSON strings as
    canonical JSON writes them): a byte scan, parsing only the entries that match."""
    found: dict[str, None] = {}
    for raw in store.raw_entries():
        if any(needle in raw.record for needle in needles):
            doc_id = raw.parse().event.doc_id
            if doc_id is not None:
                found.setdefault(doc_id)
    return list(found)


def _under(path: str, targets: frozenset[str]) -> bool:
    if path in targets:
        return True
    parent = os.path.dirname(path)
    while parent and parent != path:
        if parent in targets:
            return True
        path, parent = parent, os.path.dirname(parent)
    return False


def locate(
    store: LedgerStore, targets: Sequence[str], now: datetime
) -> dict[str, tuple[RegisteredLocation, ...]]:
    """Outstanding document locations at ``targets`` or below them (absolute paths of
    files or folders), by path."""
    wanted = frozenset(targets)
    found: dict[str, list[RegisteredLocation]] = {}
    for doc_id in _candidates(store, _needles(wanted, prefixes=True)):
        state = document(store, doc_id, now)
        for loc in state.locations:
            if loc.outstanding and loc.path is not None and _under(loc.path, wanted):
                found.setdefault(loc.path, []).append(_registered(state, loc))
    return {path: tuple(locs) for path, locs in found.items()}


def _registered(state: DocumentState, loc: Location) -> RegisteredLocation:
    assert loc.path is not None
    return RegisteredLocation(
        loc.path,
        state.doc_id,
        state.classification,
        loc.seq,
        loc.kind,
        None if loc.ciphertext else state.digest,
    )


def check_policy(
    found: Iterable[RegisteredLocation],
    method: Method,
    verify_mode: str,
    policy: ClassificationPolicy,
) -> None:
    """Refuse (``RefusedError``) a destruction weaker than a found document's level
    requires; called before anything is written."""
    for loc in found:
        reasons = check_destruction_allowed(
            loc.classification, method.name, method.pass_count, verify_mode, policy
        )
        if reasons:
            rule = policy.rule(loc.classification)
            raise RefusedError(
                f"{loc.doc_id} is classified {loc.classification}: {'; '.join(reasons)}",
                target=loc.path,
                remedy=(describe_rule(rule) if rule else "define the level in policy.toml")
                + "; nothing was written",
            )


# ---------------------------------------------------------------- recording


@dataclass(frozen=True)
class RecordedDestroy:
    """A ``destroy`` event appended for a certificate."""

    seq: int
    doc_id: str
    paths: tuple[str, ...]
    media: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "seq": self.seq,
            "doc_id": self.doc_id,
            "paths": list(self.paths),
            "media": list(self.media),
        }


@dataclass(frozen=True)
class LedgerUpdate:
    """What the ledger recorded for one certificate, and what it did not and why.

    ``notes`` name registered locations that were destroyed but not recorded (content not
    the registered one, certificate not a success); ``failure`` is why appending failed,
    if it did (the certificate is issued all the same).
    """

    recorded: tuple[RecordedDestroy, ...] = ()
    notes: tuple[str, ...] = ()
    failure: ExpungeError | None = field(default=None, compare=False)

    @property
    def error(self) -> str | None:
        """The failure as one line."""
        return self.failure.diagnostics() if self.failure else None

    @property
    def documents(self) -> tuple[str, ...]:
        """The documents recorded destroyed (at some location) by this certificate."""
        return tuple(r.doc_id for r in self.recorded)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "recorded": [r.to_dict() for r in self.recorded],
            "notes": list(self.notes),
            "error": self.error,
        }


def confirmed_documents(
    registered: Mapping[str, Sequence[RegisteredLocation]],
    digests: Mapping[str, str | None],
) -> tuple[dict[str, list[str]], list[str]]:
    """Which destroyed paths were the registered documents, by the digest read before
    wiping: ``({doc_id: [paths]}, notes on the ones that were not)``."""
    documents: dict[str, list[str]] = {}
    notes: list[str] = []
    for path, digest in digests.items():
        for loc in registered.get(path, ()):
            if loc.confirmed_by(digest):
                documents.setdefault(loc.doc_id, []).append(path)
            else:
                notes.append(
                    f"{path}: recorded as {loc.doc_id}, but its content was not the "
                    "registered one; the ledger was not updated"
                )
    return documents, notes


def document_ids(documents: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Path -> the document id a certificate names for it (one document per path)."""
    ids: dict[str, str] = {}
    for doc_id, paths in documents.items():
        for path in paths:
            ids.setdefault(path, doc_id)
    return ids


def _destroy_event(
    issued: IssuedCertificate,
    doc_id: str,
    paths: Sequence[str],
    media: Sequence[str],
    key_erased: bool = False,
) -> Destroy:
    certificate = issued.certificate
    return Destroy(
        doc_id=doc_id,
        method=certificate.sanitization.method_name,
        certificate_id=certificate.certificate_id,
        certificate_digest=issued.envelope.payload_sha256,
        envelope=issued.envelope.to_dict(),
        paths=tuple(paths),
        media=tuple(media),
        key_erased=key_erased,
    )


def _append(
    store: LedgerStore,
    issued: IssuedCertificate,
    make: Callable[[], list[Destroy]],
    notes: list[str],
    *,
    actor: str,
    now: datetime,
) -> LedgerUpdate:
    if issued.outcome != "success":
        notes.append(
            f"the certificate records {issued.outcome}, not success: the ledger records no "
            "destruction (run the destruction again)"
        )
        return LedgerUpdate(notes=tuple(notes))
    try:
        events = make()
        entries = store.append_many(events, actor=actor, now=now)
    except ExpungeError as exc:
        exc.message = f"the ledger could not record certificate {issued.path}: {exc.message}"
        return LedgerUpdate(notes=tuple(notes), failure=exc)
    recorded = tuple(
        RecordedDestroy(e.seq, ev.doc_id, ev.paths, ev.media)
        for e, ev in zip(entries, events, strict=True)
    )
    return LedgerUpdate(recorded, tuple(notes))


def record_files_destroyed(
    store: LedgerStore,
    issued: IssuedCertificate,
    documents: Mapping[str, Sequence[str]],
    notes: Sequence[str] = (),
    *,
    actor: str,
    now: datetime,
) -> LedgerUpdate:
    """One ``destroy`` event per document of ``documents`` (doc id -> its paths the
    certificate covers), citing ``issued``, in one transaction; only for a success."""
    pending = list(notes)
    if not documents:
        return LedgerUpdate(notes=tuple(pending))
    return _append(
        store,
        issued,
        lambda: [_destroy_event(issued, d, paths, ()) for d, paths in documents.items()],
        pending,
        actor=actor,
        now=now,
    )


def record_key_erased(
    store: LedgerStore,
    issued: IssuedCertificate,
    doc_id: str,
    paths: Sequence[str],
    notes: Sequence[str] = (),
    *,
    actor: str,
    now: datetime,
) -> LedgerUpdate:
    """One ``destroy`` event with ``key_erased`` for the sealed document ``doc_id`` (and the
    files at ``paths`` overwritten with it), citing ``issued``; only for a success."""
    return _append(
        store,
        issued,
        lambda: [_destroy_event(issued, doc_id, paths, (), key_erased=True)],
        list(notes),
        actor=actor,
        now=now,
    )


def _medium_documents(store: LedgerStore, token: str, now: datetime) -> list[str]:
    found = []
    for doc_id in _candidates(store, _needles((token,), prefixes=False)):
        state = document(store, doc_id, now)
        if any(loc.outstanding and loc.medium == token for loc in state.locations):
            found.append(doc_id)
    return found


def record_medium_destroyed(
    store: LedgerStore,
    token: str,
    issued: IssuedCertificate,
    *,
    actor: str,
    now: datetime,
) -> tuple[str, ...]:
    """After a drive certificate: mark every copy recorded on the medium ``token`` destroyed.

    Appends, in one transaction, one ``destroy`` event per document with an outstanding
    copy on ``token``, citing ``issued`` (``media=(token,)``), and returns their ids. Only
    a ``success`` certificate whose drive subject has identity token ``token`` counts;
    otherwise nothing is recorded and ``()`` returned. Ledger errors propagate.
    """
    drives = [r.subject for r in issued.certificate.subjects if isinstance(r.subject, DriveSubject)]
    if not any(d.identity_token == token for d in drives):
        raise UsageError(
            f"certificate {issued.certificate.certificate_id} does not wipe medium {token}",
            target=str(issued.path),
        )
    if issued.outcome != "success":
        return ()
    doc_ids = _medium_documents(store, token, now)
    if doc_ids:
        store.append_many(
            [_destroy_event(issued, d, (), (token,)) for d in doc_ids], actor=actor, now=now
        )
    return tuple(doc_ids)


@dataclass(frozen=True)
class DocumentPlan:
    """What ``expunge destroy DOC`` can reach: existing files at outstanding locations,
    and the outstanding locations it cannot (media, paths that no longer exist)."""

    state: DocumentState
    reachable: tuple[RegisteredLocation, ...]
    unreachable: tuple[Location, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "doc_id": self.state.doc_id,
            "reachable": [loc.to_dict() for loc in self.reachable],
            "unreachable": [loc.to_dict() for loc in self.unreachable],
        }


def plan_document(state: DocumentState) -> DocumentPlan:
    """Split ``state``'s outstanding locations into those present now and the others."""
    reachable: list[RegisteredLocation] = []
    unreachable: list[Location] = []
    for loc in state.locations:
        if not loc.outstanding:
            continue
        if loc.path is not None and _present(loc.path):
            reachable.append(_registered(state, loc))
        else:
            unreachable.append(loc)
    return DocumentPlan(state, tuple(reachable), tuple(unreachable))


def _present(path: str) -> bool:
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise target_error(exc, path) from None
    return True
