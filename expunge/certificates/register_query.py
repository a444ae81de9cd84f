"""What ``cert list`` and ``report`` ask of the register, and the sums a report prints.

Apart from ``register`` and ``register_row`` because issuing a certificate indexes it
through those and never asks a question of the register: each frozen dataclass costs a
one-file shred about half a millisecond to build at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from expunge.certificates.register_row import RegisterRow


@dataclass(frozen=True)
class Query:
    """What ``cert list`` asks for; None: any. Times are Unix seconds, ``until`` inclusive."""

    since: float | None = None
    until: float | None = None
    outcome: str | None = None
    target: str | None = None
    serial: str | None = None
    doc: str | None = None


@dataclass(frozen=True)
class Totals:
    """The sums under a period report: destructions by outcome, subjects and bytes."""

    certificates: int
    by_outcome: tuple[tuple[str, int], ...]
    subjects: int
    bytes: int
    unverified: int
    """Rows whose signature did not verify under the trust store (or were unreadable)."""

    @classmethod
    def of(cls, rows: tuple[RegisterRow, ...]) -> Totals:
        """The totals of ``rows``."""
        outcomes = ("success", "partial", "failed", "interrupted")
        return cls(
            certificates=len(rows),
            by_outcome=tuple((o, sum(1 for r in rows if r.outcome == o)) for o in outcomes),
            subjects=sum(r.subjects for r in rows),
            bytes=sum(r.bytes for r in rows),
            unverified=sum(1 for r in rows if r.signature != "verified"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "certificates": self.certificates,
            "by_outcome": dict(self.by_outcome),
            "subjects": self.subjects,
            "bytes": self.bytes,
            "unverified": self.unverified,
        }
