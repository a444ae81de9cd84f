"""Read-back verification: sample plans, reading the media, comparing with the final pass.

``make_plan`` chooses which blocks to read (from a recorded seed), ``verify_path`` /
``verify_fd`` read them from the media (not the page cache) and compare their BLAKE3
hashes with those of the content the pass wrote, and return a ``VerificationReport``.
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.verify.detection import DetectionRow, detection_probability, detection_table
    from expunge.verify.options import VerifyOptions
    from expunge.verify.plan import MODES, SamplePlan, VerifyMode, make_plan
    from expunge.verify.readback import (
        TargetIdentity,
        TargetInfo,
        expected_digest,
        probe_target,
        verify_fd,
        verify_path,
    )
    from expunge.verify.report import VerificationReport

__all__ = [
    "MODES",
    "DetectionRow",
    "SamplePlan",
    "TargetIdentity",
    "TargetInfo",
    "VerificationReport",
    "VerifyMode",
    "VerifyOptions",
    "detection_probability",
    "detection_table",
    "expected_digest",
    "make_plan",
    "probe_target",
    "verify_fd",
    "verify_path",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
