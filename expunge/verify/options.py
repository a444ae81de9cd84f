"""What a caller asks of verification: the mode, the coverage, and whether after every pass."""

from __future__ import annotations

from dataclasses import dataclass

from expunge.verify.plan import VerifyMode


@dataclass(frozen=True)
class VerifyOptions:
    """How to read the media back: mode, coverage, and whether after every pass.

    ``mode`` is a ``VerifyMode`` or its name; ``make_plan`` checks it.
    """

    mode: str = VerifyMode.NIST
    coverage: float | None = None
    every_pass: bool = False
