"""How the certificates an audit read ended: counts by outcome, and the ones to look at.

A home where failed, partial or interrupted destructions sit beside the successful ones is
not a tampered home, so they are not problems of the chain; but an auditor must see them,
and ``audit --strict`` fails on any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from expunge.core.outcome import Outcome
from expunge.workflows.audit.verdicts import Facts


@dataclass(frozen=True)
class NotSuccess:
    """A certificate that records an outcome other than success."""

    certificate_id: str
    target: str
    outcome: str

    def describe(self) -> str:
        """One line: ``01J... /dev/loop3: failed``."""
        return f"{self.certificate_id} {self.target}: {self.outcome}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "certificate_id": self.certificate_id,
            "target": self.target,
            "outcome": self.outcome,
        }


@dataclass(frozen=True)
class OutcomeTally:
    """Distinct certificates (by digest) counted by outcome, the non-success ones by id."""

    counts: tuple[tuple[Outcome, int], ...] = ()
    not_success: tuple[NotSuccess, ...] = ()

    def line(self) -> str:
        """``certificates by outcome: success 25, partial 1, failed 3, interrupted 1``."""
        return "certificates by outcome: " + (
            ", ".join(f"{outcome} {count}" for outcome, count in self.counts) or "none"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form: counts by outcome name, and the non-success certificates."""
        return {
            "by_outcome": {outcome.value: count for outcome, count in self.counts},
            "not_success": [n.to_dict() for n in self.not_success],
        }


class OutcomeCount:
    """An ``OutcomeTally`` counted as certificates verify, each digest once: an audit
    keeps no verdict after using it."""

    def __init__(self) -> None:
        # Digests as bytes: a quarter of a million of them in an audit of a million entries.
        self.digests: set[bytes] = set()
        self.counts = dict.fromkeys(Outcome, 0)
        self.not_success: list[NotSuccess] = []

    def add(self, facts: Facts) -> None:
        """Count the certificate of ``facts`` unless its digest was counted."""
        digest = bytes.fromhex(facts.digest)
        if digest in self.digests:
            return
        self.digests.add(digest)
        self.counts[Outcome(facts.outcome)] += 1
        if not facts.success:
            self.not_success.append(NotSuccess(facts.certificate_id, facts.target, facts.outcome))

    def tally(self) -> OutcomeTally:
        """The counts, the non-success certificates in order of id."""
        return OutcomeTally(
            counts=tuple(self.counts.items()),
            not_success=tuple(sorted(self.not_success, key=lambda n: n.certificate_id)),
        )
