"""``expunge audit``: the ledger and the certificates checked against each other (layer 2).

What is checked, each problem named with the seq it concerns:

1. the chain (``ledger.chain.verify_and_parse``): altered, deleted, reordered, duplicated
   or foreign entries, and checkpoints, whose signatures must be by a trusted key;
2. truncation and rewritten history, against *anchors*: heads recorded outside the chain
   (exported checkpoints or entries given as anchor files), and the ledger anchor of every
   certificate (see ``records``), whether carried by a ``destroy`` event or found in the
   certificates folder;
3. every event against its document's history (``ledger.state.consistency_problems``);
4. every ``destroy`` event's certificate: a DSSE envelope signed by a trusted key (the
   same verdict as ``cert verify``), the id and digest the event cites, outcome
   ``success``, a subject for every location the event covers (a file at that path naming
   the document, with the registered content for plaintext; a drive with that identity
   token; a key erasure), and a ledger anchor in this ledger before the event;
5. certificates in the folder that the ledger should record but does not: one naming a
   document that no ``destroy`` event of that document cites, or a drive certificate after
   which copies recorded on that drive are still outstanding (the entries after its
   anchor were cut off or removed). A file named for a certificate the ledger cites is
   not read again: the ledger's copy was checked;
6. documents destroyed with copies still outstanding, and documents past retention that
   were not destroyed.

Speed and memory: verifying a certificate (strict envelope, Ed25519, strict certificate)
costs about 0.6 ms, so with ``workers`` > 1 the certificates of ``destroy`` events and the
entry signatures are verified in forked worker processes, fed by pipe as this one walks the
chain and folds document state in one pass (nothing of the ledger is held whole). Each
distinct signed certificate is verified once per worker.
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.workflows.audit.anchors import read_anchor_file
    from expunge.workflows.audit.report import Anchor, AuditProblem, AuditReport
    from expunge.workflows.audit.run import audit, audit_station, certificate_paths
    from expunge.workflows.audit.verdicts import MAX_CERTIFICATE_FILE, Verdict

__all__ = [
    "MAX_CERTIFICATE_FILE",
    "Anchor",
    "AuditProblem",
    "AuditReport",
    "Verdict",
    "audit",
    "audit_station",
    "certificate_paths",
    "read_anchor_file",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
