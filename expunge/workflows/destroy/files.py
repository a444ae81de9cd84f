"""``expunge shred``: every path checked, destroyed, certified and recorded."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from expunge.core.errors import UsageError
from expunge.core.progress import NULL_PROGRESS, ProgressSink, StopRequest
from expunge.workflows import certify, records
from expunge.workflows.destroy.outcome import Destruction
from expunge.workflows.destroy.plan import _checked
from expunge.workflows.destroy.record import certify_and_record
from expunge.workflows.destroy.request import ShredRequest
from expunge.workflows.destroy.run import FileDestroyer


def shred_paths(
    request: ShredRequest,
    station: certify.Station,
    *,
    progress: ProgressSink = NULL_PROGRESS,
    stop: StopRequest | None = None,
    confirm: Callable[[str], bool] | None = None,
    cert_out: Path | None = None,
    ledger: records.LedgerLink | None = None,
) -> tuple[Destruction, ...]:
    """Destroy every path in ``request``, one signed certificate per path.

    Refuses all of them if any one is refused, before anything is written. ``confirm``
    (for ``-i``) is asked before each file; ``stop`` ends the work after the current
    buffer, and what was done is still certified, as interrupted. ``cert_out`` names the
    certificate file (one path only).

    With ``ledger``: files recorded as documents are checked against their
    classification before anything is written and hashed before wiping; each certificate
    records the ledger anchor and the document ids of the files whose content was
    confirmed, and a successful one is recorded by ``destroy`` events citing it.
    """
    if cert_out is not None and len(request.paths) != 1:
        raise UsageError(
            "--cert-out names one certificate, but several paths were given",
            target="--cert-out",
            remedy="give one path per command, or let certificates go to the home folder",
        )
    # Certificates name absolute paths; symlinks in parent folders are kept as given.
    request = replace(request, paths=tuple(os.path.abspath(p) for p in request.paths))
    _, registered = _checked(request, ledger, station.home.journal)
    station.ready()
    run = FileDestroyer(request, progress, stop, confirm, registered, station.home.journal)
    results: list[Destruction] = []
    for path in request.paths:
        if run.stopped:
            break
        done = run.destroy_path(path)
        results.append(
            certify_and_record(done, request, stop, station, cert_out, ledger, registered)
        )
        # Certified: the journals of finished wipes are no longer needed to resume.
        while run.finished:
            run.finished.pop().complete()
    return tuple(results)
