"""The one destruction workflow: check -> overwrite -> verify -> remove -> certify -> record.

Every check that can refuse runs for every target before the first byte is written, and
again on the open descriptor right before writing. Layer 2: it ties together ``shred``
(overwriting), ``verify`` (read-back), ``certificates`` and ``ledger``.
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.workflows.destroy.document import DocumentDestruction, destroy_document
    from expunge.workflows.destroy.files import execute, plan_paths, shred_paths
    from expunge.workflows.destroy.outcome import Destruction, destructions_failure
    from expunge.workflows.destroy.plan import TargetPlan, preflight
    from expunge.workflows.destroy.recover import Recovered, recover_runs
    from expunge.workflows.destroy.request import PlannedFile, ShredRequest, Technique
    from expunge.workflows.destroy.run import fingerprint
    from expunge.workflows.destroy.seal import Sealing, seal_document

__all__ = [
    "Destruction",
    "DocumentDestruction",
    "PlannedFile",
    "Recovered",
    "Sealing",
    "ShredRequest",
    "TargetPlan",
    "Technique",
    "destroy_document",
    "destructions_failure",
    "execute",
    "fingerprint",
    "plan_paths",
    "preflight",
    "recover_runs",
    "seal_document",
    "shred_paths",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
