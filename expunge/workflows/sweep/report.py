"""What a sweep did, item by item, and where its report is kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from expunge.core.atomic import write_atomic
from expunge.core.canonical import canonical_bytes
from expunge.core.clock import rfc3339
from expunge.core.config import Home
from expunge.core.errors import EXIT_INTEGRITY, EXIT_MEDIA_IO, EXIT_VERIFICATION, ExpungeError
from expunge.workflows import destroy
from expunge.workflows.sweep.policy import PathRule, SweepPolicy

Status = Literal["destroyed", "would-destroy", "skipped", "failed"]


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
            "due": rfc3339(self.due) if self.due else None,
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

    @property
    def failure(self) -> ExpungeError | None:
        """The error to exit with when an item failed (the worst one's exit code)."""
        if not self.exit_code:
            return None
        error = ExpungeError(
            f"{self.count('failed')} item(s) failed",
            target="sweep",
            remedy="see the lines above; the others were done; run the sweep again after fixing",
        )
        error.exit_code = self.exit_code
        return error

    def to_dict(self) -> dict[str, Any]:
        """JSON form (also written to ``<home>/sweeps/``)."""
        return {
            "now": rfc3339(self.now),
            "started": rfc3339(self.started),
            "finished": rfc3339(self.finished),
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


def with_paths(item: SweepItem, paths: Sequence[str]) -> SweepItem:
    return replace(item, paths=tuple(paths))


def item_outcome(item: SweepItem, result: destroy.Destruction, paths: Sequence[str]) -> SweepItem:
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


def rule_item(rule: PathRule, path: str, status: Status, reason: str, code: int = 0) -> SweepItem:
    return SweepItem(
        "file", path, rule.classification, status, reason, rule=rule.describe(), exit_code=code
    )


def write_report(home: Home, report: SweepReport) -> Path:
    home.sweeps.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = report.started.strftime("%Y%m%dT%H%M%S.%fZ")
    path = home.sweeps / f"{stamp}.json"
    data = {**report.to_dict(), "report": str(path)}
    write_atomic(path, canonical_bytes(data) + b"\n", 0o600)
    return path
