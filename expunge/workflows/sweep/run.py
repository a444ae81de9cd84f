"""One sweep: every due document and every matched file, one at a time, under a lock."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

from expunge.core.clock import rfc3339
from expunge.core.config import Home
from expunge.core.errors import BusyError, ExpungeError, UsageError
from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.ledger.classification import check_destruction_allowed
from expunge.ledger.state import DocumentState, all_documents
from expunge.ledger.store import LedgerStore
from expunge.shred.methods import Method
from expunge.verify import VerifyOptions
from expunge.workflows import certify, destroy, records
from expunge.workflows.sweep.inflight import InFlight
from expunge.workflows.sweep.policy import PathRule, SweepPolicy, due_date, method_for
from expunge.workflows.sweep.recovery import Certified, certified_documents, unrecorded
from expunge.workflows.sweep.report import (
    Status,
    SweepItem,
    SweepReport,
    item_outcome,
    rule_item,
    with_paths,
    write_report,
)
from expunge.workflows.sweep.walk import Match, changed_since_walk, walk_rule


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
        self.certified: dict[str, list[Certified]] | None = None

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def add(self, item: SweepItem) -> None:
        self.items.append(item)
        self.log(item.line())

    # -- what an earlier, killed sweep left half done

    def resume_interrupted(self, store: LedgerStore | None) -> None:
        """Finish the overwrites a killed run left pending, before anything else: a
        half-overwritten file has a fresh mtime, so no path rule would match it again for
        its whole maximum age."""
        link = (
            records.LedgerLink(store, self.policy.classification, self.station.settings.operator)
            if store is not None
            else None
        )
        try:
            finished = destroy.recover_runs(self.station, link, resume=True)
        except ExpungeError as exc:
            self.add(SweepItem("file", "interrupted runs", "-", "failed", exc.diagnostics()))
            return
        for done in finished:
            if done.destruction is None:
                continue
            item = SweepItem(
                "file",
                done.target,
                "-",
                "destroyed",
                "finished an interrupted destruction",
            )
            self.add(item_outcome(item, done.destruction, [f.path for f in done.destruction.files]))

    # -- documents

    def documents(self, store: LedgerStore) -> None:
        link = records.LedgerLink(store, self.policy.classification, self.station.settings.operator)
        # Every state derived in one pass over the ledger, before anything is destroyed.
        states = all_documents(store.entries(), self.now)
        with InFlight(self.home, self.station, self.policy.classification, self.add) as flight:
            for state in states:
                if self.stopped:
                    break
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
                    self.document(state, due, link, flight)
                except ExpungeError as exc:  # e.g. a location unreadable: the others go on
                    self.add(self._doc(state, "failed", exc.diagnostics(), due, exc.exit_code))
            flight.finish(cancel=self.stopped)

    def _doc(
        self, state: DocumentState, status: Status, reason: str, due: datetime | None, code: int = 0
    ) -> SweepItem:
        return SweepItem(
            "document", state.doc_id, state.classification, status, reason, due, exit_code=code
        )

    def document(
        self, state: DocumentState, due: datetime, link: records.LedgerLink, flight: InFlight
    ) -> None:
        plan = records.plan_document(state, records.here(link.store))
        orphan = None
        if not plan.reachable:
            if self.certified is None:
                self.certified = certified_documents(self.home)
            orphan = unrecorded(self.certified.get(state.doc_id, ()), state)
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
            item = self._doc(state, "would-destroy", f"due {rfc3339(due)}", due)
            self.add(with_paths(item, paths))
            return
        method, verify = method_for(self.policy.classification.rule(state.classification))
        technique = destroy.Technique(method, VerifyOptions(verify))

        def job(own: records.LedgerLink) -> SweepItem:
            # In a worker thread, through the worker's own ledger connection.
            try:
                result = destroy.destroy_document(
                    state.doc_id,
                    self.station,
                    own,
                    technique,
                    progress=self.progress,
                    stop=self.stop,
                )
            except ExpungeError as exc:
                failed = self._doc(state, "failed", exc.diagnostics(), due, exc.exit_code)
                return with_paths(failed, paths)
            return item_outcome(self._doc(state, "destroyed", "", due), result.destruction, paths)

        flight.submit(job)

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
            matches = walk_rule(rule, self.now)
        except ExpungeError as exc:
            self.add(rule_item(rule, rule.root, "failed", exc.diagnostics(), exc.exit_code))
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
                    rule_item(
                        rule,
                        match.path,
                        "skipped",
                        f"recorded in the ledger as {docs[0].doc_id}: its retention decides",
                    )
                )
            elif reasons:
                self.add(rule_item(rule, match.path, "failed", "; ".join(reasons), 3))
            elif self.dry_run:
                self.add(rule_item(rule, match.path, "would-destroy", f"older than {rule.max_age}"))
            else:
                self.file(rule, match, method, verify)

    def file(self, rule: PathRule, match: Match, method: Method, verify: str) -> None:
        changed = changed_since_walk(match)
        if changed:
            self.add(rule_item(rule, match.path, "skipped", changed))
            return
        request = destroy.ShredRequest(
            paths=(match.path,), method=method, verify=VerifyOptions(verify)
        )
        try:
            (result,) = destroy.shred_paths(
                request, self.station, progress=self.progress, stop=self.stop
            )
        except ExpungeError as exc:
            self.add(rule_item(rule, match.path, "failed", exc.diagnostics(), exc.exit_code))
            return
        self.add(item_outcome(rule_item(rule, match.path, "destroyed", ""), result, (match.path,)))


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
        store = records.existing_ledger(home, station)
        try:
            if not dry_run:
                sweep.resume_interrupted(store)
            if store is not None:
                sweep.documents(store)
            for rule in policy.paths:
                if sweep.stopped:
                    break
                try:
                    sweep.rule(rule, store)
                except ExpungeError as exc:
                    sweep.add(
                        rule_item(rule, rule.root, "failed", exc.diagnostics(), exc.exit_code)
                    )
        finally:
            if store is not None:
                store.close()
        report = SweepReport(
            now, started, datetime.now(UTC), dry_run, policy, tuple(sweep.items), sweep.stopped
        )
        if dry_run:
            return report
        path = write_report(home, report)
    return replace(report, report_path=path)


@contextmanager
def _maybe_locked(home: Home, lock: bool) -> Iterator[None]:
    if not lock:
        yield
        return
    with sweep_lock(home):
        yield
