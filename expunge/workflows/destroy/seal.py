"""``expunge seal PATH``: seal a document, then shred its plaintext."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expunge.core.clock import utc_now
from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.workflows import certify, cryptoerase, records
from expunge.workflows.destroy.files import shred_paths
from expunge.workflows.destroy.outcome import AroundDestruction, Destruction
from expunge.workflows.destroy.plan import preflight
from expunge.workflows.destroy.request import ShredRequest, Technique


@dataclass(frozen=True)
class Sealing(AroundDestruction):
    """``expunge seal PATH``: the sealed document, and the shredding of its plaintext."""

    sealed: cryptoerase.SealedDocument
    destruction: Destruction
    """The plaintext's destruction (the sealing itself succeeded or raised)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.sealed.to_dict(), "plaintext": self.destruction.to_dict()}


def seal_document(
    path: str,
    station: certify.Station,
    ledger: records.LedgerLink,
    technique: Technique,
    *,
    doc_id: str | None,
    classification: str | None,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
    cert_out: Path | None = None,
) -> Sealing:
    """Seal the document at ``path`` (registering it if needed), then shred the plaintext.

    The plaintext's shredding is checked (file checks, and the classification's policy)
    before anything is sealed; it gets its own certificate, recorded in the ledger as the
    destruction of the original location.
    """
    request = ShredRequest(
        paths=(os.path.abspath(path),),
        method=technique.method,
        verify=technique.verify,
        file_options=technique.file_options,
    )
    preflight(request, ledger)
    cryptoerase.check_sealable(
        ledger.store,
        records.read_content(request.paths[0]),
        doc_id=doc_id,
        classification=classification,
        now=utc_now(),
    )
    if classification is not None:
        ledger.policy.require(classification)
        pending = records.RegisteredLocation(
            request.paths[0], doc_id or "the document", classification, 0, "original", None
        )
        records.check_policy((pending,), technique.method, technique.verify.mode, ledger.policy)
    station.ready()
    sealed = cryptoerase.seal_document(
        station.home,
        ledger.store,
        request.paths[0],
        doc_id=doc_id,
        classification=classification,
        policy=ledger.policy,
        actor=ledger.actor,
        now=utc_now(),
    )
    (done,) = shred_paths(
        request, station, progress=progress, stop=stop, cert_out=cert_out, ledger=ledger
    )
    return Sealing(sealed, done)
