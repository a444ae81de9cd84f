"""Scheduled destruction: documents past their retention, and old files under declared roots.

A sweep destroys two kinds of things, each through the workflow a person would use:

- **ledger documents** past their ``retain-until`` (or, without one, past the policy's
  retention for their classification, counted from registration): ``destroy_document``,
  exactly as ``expunge destroy DOC`` (one certificate and one ``destroy`` event each);
- **unregistered files** matched by a ``[[paths]]`` rule (root, glob, maximum age by
  mtime): ``shred_paths``, one certificate per file. They are not registered first: the
  ledger accounts for documents someone registered, and a rule's files never were. The
  rule that matched is recorded next to the certificate in the sweep's JSON report.

Nothing outside a rule's root is ever touched: each root is walked through directory
descriptors without following symlinks, and right before a file is destroyed its
folder and the file itself are compared by ``(st_dev, st_ino)`` with what the walk saw.
A file recorded in the ledger is never destroyed by a path rule: its retention decides.

One sweep at a time (``flock`` on ``<home>/sweep.lock``). A sweep is resumable because
every decision is re-derived from the ledger: a document recorded destroyed is never
destroyed again, and a document is recorded only by the event citing its certificate.

**Policy file** (``<home>/policy.toml`` or ``--policy``), validated strictly::

    [classification.confidential]     # minimums, see ledger/classification.py
    min_verify = "nist"

    [retention]                        # for documents registered without retain-until
    confidential = "365d"

    [[paths]]
    root = "/srv/scans"                # absolute; walked without following symlinks
    glob = "**/*.pdf"                  # relative to root; '*' also crosses folders
    max_age = "30d"                    # by mtime
    classification = "internal"        # whose minimums the destruction must meet
    method = "clear"                   # optional; verify = "nist" optional

Without ``method``/``verify``, a destruction uses ``clear`` (or the first method the
level accepts) verified ``nist`` (or the level's stronger minimum).
"""

from __future__ import annotations

import fcntl
import fnmatch
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from expunge.certificates import (
    CertificateError,
    Envelope,
    FileSubject,
    Outcome,
    keyid,
    load_public_key,
    verify_envelope,
)
from expunge.core import clock
from expunge.core.atomic import write_atomic
from expunge.core.canonical import canonical_bytes
from expunge.core.config import Home
from expunge.core.errors import (
    EXIT_INTEGRITY,
    EXIT_MEDIA_IO,
    EXIT_VERIFICATION,
    BusyError,
    ExpungeError,
    UsageError,
)
from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.ledger.classification import (
    DEFAULT_POLICY,
    VERIFY_MODES,
    ClassificationPolicy,
    LevelRule,
    check_destruction_allowed,
    verify_rank,
)
from expunge.ledger.state import DocumentState, all_documents
from expunge.ledger.store import LedgerStore
from expunge.shred import files
from expunge.shred.methods import Method, get_method
from expunge.verify import VerifyOptions
from expunge.workflows import certify, destroy, records

_TOP_KEYS = frozenset({"classification", "retention", "paths"})
_RULE_KEYS = frozenset({"root", "glob", "max_age", "classification", "method", "verify"})
_RULE_REQUIRED = ("root", "glob", "max_age", "classification")
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_UNIT_UNSAFE = re.compile(r"[\s\"'\\%$;]")

Status = Literal["destroyed", "would-destroy", "skipped", "failed"]


# ---------------------------------------------------------------- policy


@dataclass(frozen=True)
class PathRule:
    """Unregistered files under ``root`` matching ``glob``, older than ``max_age``."""

    index: int
    root: str
    glob: str
    max_age: str
    classification: str
    method: str | None = None
    verify: str | None = None

    def describe(self) -> str:
        """The rule as people read it, for reports and logs."""
        return f"paths[{self.index}]: {self.root} {self.glob} older than {self.max_age}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "index": self.index,
            "root": self.root,
            "glob": self.glob,
            "max_age": self.max_age,
            "classification": self.classification,
            "method": self.method,
            "verify": self.verify,
        }


@dataclass(frozen=True)
class SweepPolicy:
    """What a sweep destroys and how: classification minimums, retention, path rules."""

    source: str | None
    classification: ClassificationPolicy = DEFAULT_POLICY
    retention: Mapping[str, str] = field(default_factory=dict)
    paths: tuple[PathRule, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "source": self.source,
            "classification": self.classification.to_dict(),
            "retention": dict(self.retention),
            "paths": [rule.to_dict() for rule in self.paths],
        }


class _Lines:
    """Line numbers of keys and tables in a TOML text (tomllib gives no positions)."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def find(self, pattern: str, start: int = 0) -> int | None:
        regex = re.compile(pattern)
        for number in range(start, len(self.lines)):
            if regex.match(self.lines[number]):
                return number + 1
        return None

    def table(self, name: str, occurrence: int = 0) -> int | None:
        header = rf"\s*\[\[\s*{re.escape(name)}\s*\]\]" if name == "paths" else None
        pattern = header or rf"\s*\[\s*{re.escape(name)}\s*\]"
        line: int | None = 0
        for _ in range(occurrence + 1):
            line = self.find(pattern, line or 0)
            if line is None:
                return None
        return line

    def key(self, key: str, table_line: int | None = None) -> int | None:
        pattern = rf"\s*[\"']?{re.escape(key)}[\"']?\s*="
        return self.find(pattern, table_line or 0) or table_line

    def error(self, message: str, line: int | None, remedy: str | None = None) -> UsageError:
        where = f"{self.source}:{line}" if line else self.source
        return UsageError(message, target=where, remedy=remedy)


def _check_duration(value: object, what: str, lines: _Lines, line: int | None) -> str:
    if not isinstance(value, str):
        raise lines.error(f'{what} must be a string such as "30d"', line)
    try:
        clock.add_duration(_EPOCH, value, what)
    except UsageError as exc:
        raise lines.error(exc.message, line, exc.remedy) from None
    return value


def _classification_line(data: Mapping[str, Any], message: str, lines: _Lines) -> int | None:
    """The line of the level (and key) an error message of classification.py names."""
    tables = data.get("classification")
    for level in tables if isinstance(tables, Mapping) else ():
        if re.search(rf"(?<![\w-]){re.escape(level)}(?![\w-])", message):
            table_line = lines.table(f"classification.{level}")
            key = next((k for k in ("min_passes", "min_verify", "methods") if k in message), None)
            return lines.key(key, table_line) if key else table_line
    return lines.table("classification")


def _classification(data: Mapping[str, Any], lines: _Lines) -> ClassificationPolicy:
    try:
        return records.policy_from_toml(data, lines.source)
    except UsageError as exc:
        line = _classification_line(data, exc.message, lines)
        raise lines.error(exc.message, line, exc.remedy) from None


def _retention(data: object, levels: ClassificationPolicy, lines: _Lines) -> dict[str, str]:
    table_line = lines.table("retention")
    if not isinstance(data, Mapping):
        raise lines.error("[retention] must be a table of level = duration", table_line)
    result: dict[str, str] = {}
    for level, value in data.items():
        line = lines.key(level, table_line)
        if levels.rule(level) is None:
            raise lines.error(
                f"[retention] names unknown classification {level!r}",
                line,
                f"choose one of {', '.join(levels.names)}",
            )
        result[level] = _check_duration(value, f"[retention] {level}", lines, line)
    return result


def _rule(index: int, data: object, levels: ClassificationPolicy, lines: _Lines) -> PathRule:
    table_line = lines.table("paths", index)
    where = f"[[paths]] #{index + 1}"
    if not isinstance(data, Mapping):
        raise lines.error(f"{where} must be a table", table_line)
    unknown = sorted(set(data) - _RULE_KEYS)
    if unknown:
        raise lines.error(
            f"{where} has unknown key {unknown[0]!r}",
            lines.key(unknown[0], table_line),
            f"allowed: {', '.join(sorted(_RULE_KEYS))}",
        )
    for key in _RULE_REQUIRED:
        if key not in data:
            raise lines.error(
                f"{where} lacks {key!r}", table_line, f"required: {', '.join(_RULE_REQUIRED)}"
            )
    for key, value in data.items():
        if not isinstance(value, str):
            raise lines.error(
                f"{where} {key} must be a string, not {type(value).__name__}",
                lines.key(key, table_line),
                f'write it in quotes, e.g. {key} = "..."',
            )
    root, glob = data["root"], data["glob"]
    if not os.path.isabs(root) or os.path.normpath(root) == "/":
        raise lines.error(
            f"{where} root {root!r} must be an absolute folder other than /",
            lines.key("root", table_line),
        )
    if not glob or glob.startswith("/") or ".." in PurePosixPath(glob).parts:
        raise lines.error(
            f"{where} glob {glob!r} must be relative to the root, without '..'",
            lines.key("glob", table_line),
        )
    level = data["classification"]
    if levels.rule(level) is None:
        raise lines.error(
            f"{where} names unknown classification {level!r}",
            lines.key("classification", table_line),
            f"choose one of {', '.join(levels.names)}",
        )
    method = data.get("method")
    if method is not None:
        try:
            get_method(method)
        except UsageError as exc:
            raise lines.error(exc.message, lines.key("method", table_line), exc.remedy) from None
    verify = data.get("verify")
    if verify is not None and verify not in VERIFY_MODES:
        raise lines.error(
            f"{where} verify {verify!r} is not a verification mode",
            lines.key("verify", table_line),
            f"choose one of {', '.join(VERIFY_MODES)}",
        )
    max_age = _check_duration(
        data["max_age"], f"{where} max_age", lines, lines.key("max_age", table_line)
    )
    return PathRule(index + 1, os.path.normpath(root), glob, max_age, level, method, verify)


def parse_policy(text: str, source: str) -> SweepPolicy:
    """A policy from TOML ``text``; errors name ``source`` and the line (exit 2)."""
    lines = _Lines(text, source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"not valid TOML: {exc}", target=source, remedy="fix the file") from None
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise lines.error(
            f"unknown key {unknown[0]!r}",
            lines.table(unknown[0]) or lines.key(unknown[0]),
            f"allowed: {', '.join(sorted(_TOP_KEYS))}",
        )
    levels = _classification(data, lines)
    retention = _retention(data.get("retention", {}), levels, lines)
    rules = data.get("paths", [])
    if not isinstance(rules, list):
        raise lines.error("paths must be [[paths]] tables", lines.key("paths"))
    return SweepPolicy(
        source,
        levels,
        retention,
        tuple(_rule(i, rule, levels, lines) for i, rule in enumerate(rules)),
    )


def load_policy(home: Home, path: Path | None = None) -> SweepPolicy:
    """``path`` (``--policy``, which must exist), else ``<home>/policy.toml`` if present,
    else the defaults: documents past their ``retain-until``, nothing else."""
    chosen = path or home.policy_path
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError:
        if path is None:
            return SweepPolicy(None)
        raise UsageError(
            "no such policy file", target=str(path), remedy="check the --policy path"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read the policy: {exc}", target=str(chosen), remedy="fix the file"
        ) from None
    return parse_policy(text, str(chosen))


def method_for(
    rule: LevelRule | None, method: str | None = None, verify: str | None = None
) -> tuple[Method, str]:
    """The method and verification mode a sweep uses for a level: as given, else
    ``clear`` (or the first method the level accepts) and ``nist`` (or stronger)."""
    if method is None:
        accepted = rule.methods if rule is not None else None
        method = "clear" if accepted is None or "clear" in accepted else sorted(accepted)[0]
    if verify is None:
        verify = "nist"
        if rule is not None and verify_rank(rule.min_verify) > verify_rank(verify):
            verify = rule.min_verify
    return get_method(method), verify


def due_date(state: DocumentState, policy: SweepPolicy) -> datetime | None:
    """When ``state`` is due for destruction: its ``retain-until``, else registration plus
    the policy's retention for its level; ``None``: kept until someone decides."""
    if state.retain_until is not None:
        return state.retain_until
    period = policy.retention.get(state.classification)
    if period is None:
        return None
    return clock.add_duration(state.registered_at, period, "[retention]")


# ---------------------------------------------------------------- lock


@contextmanager
def sweep_lock(home: Home) -> Iterator[None]:
    """Hold ``<home>/sweep.lock`` for the duration; ``BusyError`` at once if another
    process holds it (the kernel drops the lock when its holder dies, even by SIGKILL)."""
    home.ensure()
    path = home.root / "sweep.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise BusyError(
                f"another sweep is running (pid {holder})",
                target=str(path),
                remedy="this sweep did nothing; the running one finishes the work",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


# ---------------------------------------------------------------- the sweep


@dataclass(frozen=True)
class SweepItem:
    """One document or file a sweep considered, and what became of it."""

    kind: Literal["document", "file"]
    target: str
    classification: str
    status: Status
    reason: str = ""
    due: datetime | None = None
    rule: str | None = None
    paths: tuple[str, ...] = ()
    certificate: str | None = None
    exit_code: int = 0

    def line(self) -> str:
        """One log line (journald)."""
        what = f"{self.kind} {self.target} ({self.classification})"
        text = f"{self.status}: {what}"
        if self.certificate:
            text += f", certificate {self.certificate}"
        if self.rule:
            text += f", rule {self.rule}"
        if self.kind == "document" and self.paths:
            text += f", at {', '.join(self.paths)}"
        return f"{text}: {self.reason}" if self.reason else text

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": self.kind,
            "target": self.target,
            "classification": self.classification,
            "status": self.status,
            "reason": self.reason,
            "due": self.due.isoformat() if self.due else None,
            "rule": self.rule,
            "paths": list(self.paths),
            "certificate": self.certificate,
            "exit_code": self.exit_code,
        }


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did; ``exit_code`` is the worst failure's, 0 when none failed."""

    now: datetime
    started: datetime
    finished: datetime
    dry_run: bool
    policy: SweepPolicy
    items: tuple[SweepItem, ...]
    interrupted: bool = False
    report_path: Path | None = None

    def count(self, status: Status) -> int:
        """How many items ended with ``status``."""
        return sum(1 for item in self.items if item.status == status)

    @property
    def exit_code(self) -> int:
        """The highest exit code of a failed item (0 when nothing failed)."""
        return max((item.exit_code for item in self.items if item.status == "failed"), default=0)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (also written to ``<home>/sweeps/``)."""
        return {
            "now": self.now.isoformat(),
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "dry_run": self.dry_run,
            "interrupted": self.interrupted,
            "policy": self.policy.to_dict(),
            "summary": {
                status: self.count(status)
                for status in ("destroyed", "would-destroy", "skipped", "failed")
            },
            "exit_code": self.exit_code,
            "items": [item.to_dict() for item in self.items],
            "report": str(self.report_path) if self.report_path else None,
        }


@dataclass(frozen=True)
class _Match:
    path: str
    file_id: tuple[int, int]
    dir_id: tuple[int, int]


class _Sweep:
    def __init__(
        self,
        home: Home,
        policy: SweepPolicy,
        station: certify.Station,
        now: datetime,
        dry_run: bool,
        log: Callable[[str], None],
        progress: ProgressSink,
        stop: StopRequest | None,
    ) -> None:
        self.home = home
        self.policy = policy
        self.station = station
        self.now = now
        self.dry_run = dry_run
        self.log = log
        self.progress = progress
        self.stop = stop
        self.items: list[SweepItem] = []
        self.certified: dict[str, list[_Certified]] | None = None

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def add(self, item: SweepItem) -> None:
        self.items.append(item)
        self.log(item.line())

    # -- documents

    def documents(self, store: LedgerStore) -> None:
        link = records.LedgerLink(store, self.policy.classification, self.station.settings.operator)
        for state in all_documents(store.entries(), self.now):
            if self.stopped:
                return
            if state.destroyed:
                continue
            try:
                due = due_date(state, self.policy)
            except UsageError as exc:
                self.add(self._doc(state, "failed", exc.diagnostics(), None, exc.exit_code))
                continue
            if due is None or due > self.now:
                continue
            try:
                self.document(state, due, link)
            except ExpungeError as exc:  # e.g. a location unreadable: the others go on
                self.add(self._doc(state, "failed", exc.diagnostics(), due, exc.exit_code))

    def _doc(
        self, state: DocumentState, status: Status, reason: str, due: datetime | None, code: int = 0
    ) -> SweepItem:
        return SweepItem(
            "document", state.doc_id, state.classification, status, reason, due, exit_code=code
        )

    def document(self, state: DocumentState, due: datetime, link: records.LedgerLink) -> None:
        plan = records.plan_document(state)
        orphan = None
        if not plan.reachable:
            if self.certified is None:
                self.certified = certified_documents(self.home)
            orphan = _unrecorded(self.certified.get(state.doc_id, ()), state)
        if orphan is not None:
            self.record_orphan(state, due, link, *orphan)
            return
        # A sealed document's key can be erased with no copy present: that is the point.
        sealed = state.seal is not None and state.key_erased_by is None
        if not plan.reachable and not sealed:
            missing = ", ".join(loc.describe() for loc in plan.unreachable) or "none"
            self.add(
                self._doc(state, "skipped", f"no recorded location is present: {missing}", due)
            )
            return
        paths = tuple(loc.path for loc in plan.reachable)
        if self.dry_run:
            item = self._doc(state, "would-destroy", f"due {due.isoformat()}", due)
            self.add(_with_paths(item, paths))
            return
        method, verify = method_for(self.policy.classification.rule(state.classification))
        try:
            result = destroy.destroy_document(
                state.doc_id,
                self.station,
                link,
                method=method,
                verify=VerifyOptions(verify),
                progress=self.progress,
                stop=self.stop,
            )
        except ExpungeError as exc:
            self.add(
                _with_paths(
                    self._doc(state, "failed", exc.diagnostics(), due, exc.exit_code), paths
                )
            )
            return
        self.add(_outcome(self._doc(state, "destroyed", "", due), result.destruction, paths))

    def record_orphan(
        self,
        state: DocumentState,
        due: datetime,
        link: records.LedgerLink,
        issued: certify.IssuedCertificate,
        paths: tuple[str, ...],
    ) -> None:
        """Record a destruction certified by an earlier sweep that stopped before its
        ``destroy`` event was appended (killed between the two)."""
        item = replace(
            self._doc(state, "would-destroy", "", due),
            paths=paths,
            certificate=str(issued.path),
            reason="destroyed and certified by an interrupted sweep; the ledger records it now",
        )
        if self.dry_run:
            self.add(item)
            return
        update = records.record_files_destroyed(
            link.store,
            issued,
            {state.doc_id: list(paths)},
            actor=link.actor,
            now=datetime.now(UTC),
        )
        if update.failure is not None:
            self.add(
                replace(
                    item,
                    status="failed",
                    reason=update.failure.diagnostics(),
                    exit_code=update.failure.exit_code,
                )
            )
        else:
            self.add(replace(item, status="destroyed"))

    # -- path rules

    def rule(self, rule: PathRule, store: LedgerStore | None) -> None:
        try:
            matches = _walk_rule(rule, self.now)
        except ExpungeError as exc:
            self.add(_rule_item(rule, rule.root, "failed", exc.diagnostics(), exc.exit_code))
            return
        registered = records.locate(store, [m.path for m in matches], self.now) if store else {}
        level = self.policy.classification.rule(rule.classification)
        method, verify = method_for(level, rule.method, rule.verify)
        reasons = check_destruction_allowed(
            rule.classification, method.name, method.pass_count, verify, self.policy.classification
        )
        for match in matches:
            if self.stopped:
                return
            docs = registered.get(match.path, ())
            if docs:
                self.add(
                    _rule_item(
                        rule,
                        match.path,
                        "skipped",
                        f"recorded in the ledger as {docs[0].doc_id}: its retention decides",
                    )
                )
            elif reasons:
                self.add(_rule_item(rule, match.path, "failed", "; ".join(reasons), 3))
            elif self.dry_run:
                self.add(
                    _rule_item(rule, match.path, "would-destroy", f"older than {rule.max_age}")
                )
            else:
                self.file(rule, match, method, verify)

    def file(self, rule: PathRule, match: _Match, method: Method, verify: str) -> None:
        changed = _changed_since_walk(match)
        if changed:
            self.add(_rule_item(rule, match.path, "skipped", changed))
            return
        request = destroy.ShredRequest(
            paths=(match.path,), method=method, verify=VerifyOptions(verify)
        )
        try:
            (result,) = destroy.shred_paths(
                request, self.station, progress=self.progress, stop=self.stop
            )
        except ExpungeError as exc:
            self.add(_rule_item(rule, match.path, "failed", exc.diagnostics(), exc.exit_code))
            return
        self.add(_outcome(_rule_item(rule, match.path, "destroyed", ""), result, (match.path,)))


_Certified = tuple[certify.IssuedCertificate, tuple[str, ...]]


def certified_documents(home: Home) -> dict[str, list[_Certified]]:
    """Document id -> the success certificates signed by this station that name it, with
    the paths each names for it (newest first): what recovery after a kill looks in."""
    try:
        public = load_public_key(home.public_key_path.read_bytes(), str(home.public_key_path))
        folder = sorted(home.certificates.glob("*.cert.json"), reverse=True)
    except (OSError, ExpungeError):
        return {}
    keys = {keyid(public): public}
    index: dict[str, list[_Certified]] = {}
    for path in folder:  # certificate ids sort by time: newest first
        try:
            envelope = Envelope.from_json(path.read_bytes())
            certificate = verify_envelope(envelope, keys).certificate
        except (OSError, CertificateError):
            continue
        if certificate.outcome is not Outcome.SUCCESS:
            continue
        named: dict[str, list[str]] = {}
        for record in certificate.subjects:
            subject = record.subject
            if isinstance(subject, FileSubject) and subject.document_id:
                named.setdefault(subject.document_id, []).append(subject.path)
        issued = certify.IssuedCertificate(path, certificate, envelope)
        for doc_id, paths in named.items():
            index.setdefault(doc_id, []).append((issued, tuple(paths)))
    return index


def _unrecorded(certified: Sequence[_Certified], state: DocumentState) -> _Certified | None:
    """A certificate of ``certified`` naming ``state``'s document only at outstanding
    locations, which no ``destroy`` event cites yet."""
    cited = {d.certificate_id for d in state.destructions}
    outstanding = {loc.path for loc in state.locations if loc.outstanding and loc.path}
    for issued, paths in certified:
        if issued.certificate.certificate_id not in cited and set(paths) <= outstanding:
            return issued, paths
    return None


def _with_paths(item: SweepItem, paths: Sequence[str]) -> SweepItem:
    return replace(item, paths=tuple(paths))


def _outcome(item: SweepItem, result: destroy.Destruction, paths: Sequence[str]) -> SweepItem:
    cert = str(result.certificate.path) if result.certificate else None
    item = replace(item, paths=tuple(paths), certificate=cert)
    ledger_error = result.ledger.error if result.ledger else None
    if result.status != "success":
        code = EXIT_VERIFICATION if any(f.verification_failed for f in result.files) else 0
        reason = "; ".join(result.errors) or "see the certificate"
        return replace(
            item,
            status="failed",
            reason=f"the destruction ended {result.status}: {reason}",
            exit_code=code or EXIT_MEDIA_IO,
        )
    if ledger_error:
        return replace(item, status="failed", reason=ledger_error, exit_code=EXIT_INTEGRITY)
    return item


def _rule_item(rule: PathRule, path: str, status: Status, reason: str, code: int = 0) -> SweepItem:
    return SweepItem(
        "file", path, rule.classification, status, reason, rule=rule.describe(), exit_code=code
    )


def _matches(relative: str, glob: str) -> bool:
    # "**/" also matches no folder at all, as in most glob dialects.
    if fnmatch.fnmatchcase(relative, glob):
        return True
    return glob.startswith("**/") and fnmatch.fnmatchcase(relative, glob[3:])


def _walk_rule(rule: PathRule, now: datetime) -> list[_Match]:
    """Files under the rule's root matching its glob and older than its maximum age,
    found through directory descriptors (no symlink is ever followed)."""
    options = files.FileOptions()
    parent_fd, dir_fd, _ = files.open_tree(rule.root, options)
    found: list[_Match] = []
    try:
        for entry in files.walk_tree(dir_fd, rule.root, options):
            if entry.kind != "file":
                continue
            relative = os.path.relpath(entry.path, rule.root)
            if not _matches(relative, rule.glob):
                continue
            st = os.stat(entry.name, dir_fd=entry.dir_fd, follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                continue
            modified = datetime.fromtimestamp(st.st_mtime, UTC)
            if clock.add_duration(modified, rule.max_age, "max_age") > now:
                continue
            folder = os.fstat(entry.dir_fd)
            found.append(_Match(entry.path, (st.st_dev, st.st_ino), (folder.st_dev, folder.st_ino)))
    except OSError as exc:
        raise files.target_error(exc, rule.root) from None
    finally:
        os.close(dir_fd)
        os.close(parent_fd)
    return found


def _changed_since_walk(match: _Match) -> str | None:
    """Why the path no longer leads to the file the walk found inside the root, if so:
    its folder (reached by name, as the destruction will) and the file are compared by
    ``(st_dev, st_ino)``."""
    try:
        folder = os.stat(os.path.dirname(match.path))
        st = os.stat(match.path, follow_symlinks=False)
    except OSError as exc:
        return f"no longer there: {exc.strerror}"
    if (folder.st_dev, folder.st_ino) != match.dir_id:
        return "its folder was replaced since the walk (a symlink?); not followed"
    if (st.st_dev, st.st_ino) != match.file_id:
        return "the file was replaced since the walk; left alone"
    return None


def _write_report(home: Home, report: SweepReport) -> Path:
    home.sweeps.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = report.started.strftime("%Y%m%dT%H%M%S.%fZ")
    path = home.sweeps / f"{stamp}.json"
    data = {**report.to_dict(), "report": str(path)}
    write_atomic(path, canonical_bytes(data) + b"\n", 0o600)
    return path


def run_sweep(
    home: Home,
    policy: SweepPolicy,
    station: certify.Station,
    *,
    now: datetime,
    dry_run: bool = False,
    log: Callable[[str], None] = lambda _line: None,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
) -> SweepReport:
    """Destroy every document due at ``now`` and every file a path rule matches.

    Holds the sweep lock (``BusyError`` if another sweep runs). A failure never stops the
    other items; ``log`` receives one line per item. A dry run takes no lock, writes
    nothing and lists what would go; a real sweep writes its report to
    ``<home>/sweeps/<time>.json``.
    """
    started = datetime.now(UTC)
    sweep = _Sweep(home, policy, station, now, dry_run, log, progress, stop)
    with _maybe_locked(home, not dry_run):
        store = records.existing_ledger(home)
        try:
            if store is not None:
                sweep.documents(store)
            for rule in policy.paths:
                if sweep.stopped:
                    break
                try:
                    sweep.rule(rule, store)
                except ExpungeError as exc:
                    sweep.add(
                        _rule_item(rule, rule.root, "failed", exc.diagnostics(), exc.exit_code)
                    )
        finally:
            if store is not None:
                store.close()
        report = SweepReport(
            now, started, datetime.now(UTC), dry_run, policy, tuple(sweep.items), sweep.stopped
        )
        if dry_run:
            return report
        path = _write_report(home, report)
    return replace(report, report_path=path)


@contextmanager
def _maybe_locked(home: Home, lock: bool) -> Iterator[None]:
    if not lock:
        yield
        return
    with sweep_lock(home):
        yield


# ---------------------------------------------------------------- scheduling


def _under(path: str, tops: Sequence[str]) -> bool:
    return any(path == top or path.startswith(top + "/") for top in tops)


def _unit_path(path: str) -> str:
    if _UNIT_UNSAFE.search(path):
        raise UsageError(
            "contains whitespace, quotes or characters systemd would expand",
            target=path,
            remedy="use a path without them for the home, the policy and the sweep roots",
        )
    return path


def systemd_units(
    executable: Sequence[str], home: Home, policy: SweepPolicy, policy_file: Path | None = None
) -> dict[str, str]:
    """The service and timer that run a daily sweep of ``home``; ``executable`` is the
    command that runs expunge (``["/usr/local/bin/expunge"]``, or an interpreter and
    ``-m expunge``)."""
    writable = [str(home.root), *sorted({rule.root for rule in policy.paths})]
    for path in (*executable, *writable, *([str(policy_file)] if policy_file else [])):
        _unit_path(path)
    visible = [*writable, executable[0]]
    under_home = any(_under(p, ("/home", "/root", "/run/user")) for p in visible)
    # A private /tmp would hide a home or root kept in the real one.
    private_tmp = not any(_under(p, ("/tmp", "/var/tmp")) for p in visible)
    command = f"{' '.join(executable)} sweep --home {home.root}"
    if policy_file is not None:
        command += f" --policy {policy_file}"
    service = f"""\
[Unit]
Description=expunge: destroy documents past their retention
After=local-fs.target

[Service]
Type=oneshot
ExecStart={command}
Environment=EXPUNGE_HOME={home.root}
UMask=0077
ProtectSystem=strict
ReadWritePaths={" ".join("-" + p for p in writable)}
ProtectHome={"read-only" if under_home else "yes"}
PrivateTmp={"yes" if private_tmp else "no"}
PrivateNetwork=yes
NoNewPrivileges=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictRealtime=yes
SystemCallArchitectures=native
CapabilityBoundingSet=CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER
"""
    timer = """\
[Unit]
Description=expunge: daily sweep of documents past their retention

[Timer]
OnCalendar=daily
Persistent=true
RandomizedDelaySec=15m

[Install]
WantedBy=timers.target
"""
    return {"expunge-sweep.service": service, "expunge-sweep.timer": timer}
