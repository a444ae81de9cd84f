"""How the certificates an audit read ended: counts by outcome, and the ones to look at.

A home where failed, partial or interrupted destructions sit beside the successful ones is
not a tampered home, so they are not problems of the chain; but an auditor must see them,
and ``audit --strict`` fails on any of them.
"""

from __future__ import annotations

from collections.abc import Iterable
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

    @classmethod
    def of(cls, verified: Iterable[Facts]) -> OutcomeTally:
        """The tally of every certificate whose envelope verified, each digest once."""
        distinct = {facts.digest: facts for facts in verified}
        found = sorted(distinct.values(), key=lambda f: f.certificate_id)
        counts = tuple(
            (outcome, sum(1 for f in found if f.outcome == outcome.value)) for outcome in Outcome
        )
        return cls(
            counts=counts,
            not_success=tuple(
                NotSuccess(f.certificate_id, f.target, f.outcome) for f in found if not f.success
            ),
        )

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
