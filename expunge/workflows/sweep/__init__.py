"""Scheduled destruction: documents past their retention, and old files under declared roots.

A sweep destroys two kinds of things, each through the workflow a person would use:

- **ledger documents** past their ``retain-until`` (or, without one, past the policy's
  retention for their classification, counted from registration): ``destroy_document``,
  exactly as ``expunge destroy DOC`` (one certificate and one ``destroy`` event each);
- **unregistered files** matched by a ``[[paths]]`` rule (root, glob, maximum age by
  mtime): ``shred_paths``, one certificate per file. They are not registered first: the
  ledger accounts for documents someone registered, and a rule's files never were. The
  rule that matched is recorded next to the certificate in the sweep's JSON report.

Nothing outside a rule's root is ever touched: each root is walked through directory
descriptors without following symlinks, and right before a file is destroyed its
folder and the file itself are compared by ``(st_dev, st_ino)`` with what the walk saw.
A file recorded in the ledger is never destroyed by a path rule: its retention decides.

One sweep at a time (``flock`` on ``<home>/sweep.lock``). A sweep is resumable because
every decision is re-derived from the ledger: a document recorded destroyed is never
destroyed again, and a document is recorded only by the event citing its certificate.

**Policy file** (``<home>/policy.toml`` or ``--policy``), validated strictly::

    [classification.confidential]     # minimums, see ledger/classification.py
    min_verify = "nist"

    [retention]                        # for documents registered without retain-until
    confidential = "365d"

    [[paths]]
    root = "/srv/scans"                # absolute; walked without following symlinks
    glob = "**/*.pdf"                  # relative to root; '*' also crosses folders
    max_age = "30d"                    # by mtime
    classification = "internal"        # whose minimums the destruction must meet
    method = "clear"                   # optional; verify = "nist" optional

Without ``method``/``verify``, a destruction uses ``clear`` (or the first method the
level accepts) verified ``nist`` (or the level's stronger minimum).
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.workflows.sweep.policy import (
        PathRule,
        SweepPolicy,
        due_date,
        load_policy,
        method_for,
        parse_policy,
    )
    from expunge.workflows.sweep.recovery import certified_documents
    from expunge.workflows.sweep.report import Status, SweepItem, SweepReport
    from expunge.workflows.sweep.run import run_sweep, sweep_lock
    from expunge.workflows.sweep.units import SERVICE, TIMER, systemd_units, write_units
    from expunge.workflows.sweep.walk import changed_since_walk, walk_rule

__all__ = [
    "SERVICE",
    "TIMER",
    "PathRule",
    "Status",
    "SweepItem",
    "SweepPolicy",
    "SweepReport",
    "certified_documents",
    "changed_since_walk",
    "due_date",
    "load_policy",
    "method_for",
    "parse_policy",
    "run_sweep",
    "sweep_lock",
    "systemd_units",
    "walk_rule",
    "write_units",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
