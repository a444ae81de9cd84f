"""Every check on every target, before the first byte is written."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Literal

from expunge.core.clock import utc_now
from expunge.core.errors import TargetError
from expunge.shred import files
from expunge.shred.files import OpenFile
from expunge.shred.journal import JournalTarget
from expunge.shred.resume import pending_journal
from expunge.workflows import records
from expunge.workflows.destroy.request import PlannedFile, ShredRequest


def _check_top_level(path: str, recursive: bool) -> Literal["file", "directory"]:
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise files.target_error(exc, path) from exc
    if stat.S_ISDIR(st.st_mode):
        if not recursive:
            raise TargetError("is a directory", target=path, remedy="use -r to destroy it")
        return "directory"
    return "file"


def preflight(
    request: ShredRequest, ledger: records.LedgerLink | None = None
) -> tuple[PlannedFile, ...]:
    """Run every check on every target without writing; raise the first refusal.

    Opening for writing changes nothing on disk; each file is opened, checked, closed.
    With ``ledger``, files recorded there as documents are named, and a method or
    verification weaker than a document's classification requires is refused.
    """
    return _checked(request, ledger)[0]


def _checked(
    request: ShredRequest, ledger: records.LedgerLink | None, journals: Path | None = None
) -> tuple[tuple[PlannedFile, ...], dict[str, tuple[records.RegisteredLocation, ...]]]:
    planned = _plan_files(request, journals)
    if ledger is None:
        return planned, {}
    found = records.locate(ledger.store, request.paths, utc_now())
    registered = {p.path: found[p.path] for p in planned if p.path in found}
    records.check_policy(
        (loc for locs in registered.values() for loc in locs),
        request.method,
        request.verify.mode,
        ledger.policy,
    )
    planned = tuple(
        replace(p, documents=tuple(loc.doc_id for loc in registered.get(p.path, ())))
        for p in planned
    )
    return planned, registered


def _plan_files(request: ShredRequest, journals: Path | None = None) -> tuple[PlannedFile, ...]:
    planned: list[PlannedFile] = []

    def check(opened: OpenFile) -> None:
        with opened:
            if journals is not None:
                # A pending or foreign journal refuses every path, before the first write.
                target = JournalTarget.from_identity(opened.identity)
                pending_journal(journals, target, request.method, resume=request.resume)
            planned.append(
                PlannedFile(
                    opened.path,
                    opened.identity.size,
                    opened.identity.filesystem,
                    tuple(lim.code for lim in opened.limitations),
                )
            )

    for path in request.paths:
        if _check_top_level(path, request.recursive) == "file":
            check(files.open_file(path, request.file_options))
            continue
        parent_fd, dir_fd, _ = files.open_tree(path, request.file_options)
        try:
            for entry in files.walk_tree(dir_fd, path, request.file_options):
                if entry.kind == "file":
                    check(
                        files.open_file_at(
                            entry.dir_fd, entry.name, entry.path, request.file_options
                        )
                    )
        finally:
            os.close(dir_fd)
            os.close(parent_fd)
    return tuple(planned)
