"""How a run over several drives ends: the worst outcome's exit code and one line."""

from __future__ import annotations

from collections.abc import Sequence

from expunge.core.errors import (
    ExpungeError,
    IntegrityError,
    Interrupted,
    MediaIOError,
    RefusedError,
    TargetError,
    UsageError,
    VerificationError,
)
from expunge.workflows import drive_wipe

_ERROR_FOR_CODE: dict[int, type[ExpungeError]] = {
    2: UsageError,
    3: RefusedError,
    4: TargetError,
    5: VerificationError,
    6: MediaIOError,
    7: IntegrityError,
}


def exit_code(result: drive_wipe.DriveWipe, received: Sequence[int]) -> int:
    """One drive's exit code: 0, 128+signal, or its failure's documented code."""
    status = result.status
    if status == "success":
        return 0
    if status == "interrupted" and received:
        return 128 + received[0]
    if status == "interrupted":
        return 6  # not stopped by a signal: the medium stopped answering
    if result.verification_failed:
        return 5
    if result.problem is not None:
        return result.problem.exit_code
    return 6


def raise_worst(results: Sequence[drive_wipe.DriveWipe], received: Sequence[int]) -> None:
    """Exit with the worst outcome: interrupted > I/O > verification > target > refused."""
    codes = [(exit_code(r, received), r) for r in results]
    worst = max((code for code, _ in codes), default=0)
    if worst == 0:
        return
    nodes = ", ".join(r.node for code, r in codes if code)
    if worst >= 128:
        raise Interrupted(
            "interrupted; what was written is certified as interrupted",
            signum=worst - 128,
            target=nodes,
            remedy="run the same command with --resume to finish",
        )
    counted = sum(1 for code, _ in codes if code)
    error = _ERROR_FOR_CODE.get(worst, MediaIOError)
    raise error(
        f"{counted} of {len(results)} drive(s) not wiped as asked (see above)",
        target=nodes,
        remedy="REFUSED drives were not written to; others: check the medium and wipe again",
    )
