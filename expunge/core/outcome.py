"""The one vocabulary for how a piece of work ended, shared by wipes, certificates and reports."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """How a wipe, a destruction or a certificate ended.

    ``success``: everything asked for was done and verified; ``partial``: some of it;
    ``failed``: none of it, or a verification found other content; ``interrupted``: a
    signal or a vanished medium stopped it, and it can be resumed.
    """

    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
