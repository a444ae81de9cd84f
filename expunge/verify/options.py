"""What a caller asks of verification: the mode, the coverage, and whether after every pass."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VerifyOptions:
    """How to read the media back: mode, coverage, and whether after every pass."""

    mode: str = "nist"
    coverage: float | None = None
    every_pass: bool = False
