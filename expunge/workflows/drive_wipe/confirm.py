"""Confirming a drive by its identity token: a few tries for that drive alone.

A mistyped token asks again; after the last try the drive is refused, and only that drive:
the others the operator confirmed go on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from expunge.core.clock import utc_now
from expunge.core.errors import RefusedError
from expunge.drives import Drive, confirm_token_matches
from expunge.workflows.drive_wipe.model import DriveWipe

CONFIRM_TRIES = 3


@dataclass(frozen=True)
class Confirmation:
    """A drive waiting for its token: ``tries_left`` entries remain; ``confirmed`` once one
    matched."""

    drive: Drive
    tries_left: int = CONFIRM_TRIES
    confirmed: bool = False

    @property
    def refused(self) -> bool:
        """Every try was used up without a match."""
        return not self.confirmed and self.tries_left <= 0

    def answer(self, typed: str) -> Confirmation:
        """The state after the operator typed ``typed`` (a used-up confirmation stays so)."""
        if self.confirmed or self.refused:
            return self
        if confirm_token_matches(self.drive, typed):
            return replace(self, confirmed=True)
        return replace(self, tries_left=self.tries_left - 1)

    def refusal(self, why: str = "") -> DriveWipe:
        """The result of a drive that was not confirmed: refused, nothing written."""
        reason = why or f"the token typed did not match in {CONFIRM_TRIES} tries"
        return refused_result(
            self.drive,
            RefusedError(
                f"not confirmed: {reason}; nothing was written",
                target=self.drive.node,
                remedy=f"its identity token is {self.drive.identity_token}; wipe it again",
            ),
        )


def refused_result(drive: Drive, problem: RefusedError) -> DriveWipe:
    """The result of a drive refused before it was opened: nothing written, no certificate."""
    now = utc_now()
    return DriveWipe(drive, drive.identity_token, now, now, problem=problem)
