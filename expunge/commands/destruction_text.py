"""The text of destructions: every file in detail, or a summary at scale, or just the
certificate (``-v``, the default, ``-q``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from enum import StrEnum

from expunge.commands.render import human_bytes, unwritten_lines, verification_line
from expunge.core import paths
from expunge.shred.methods import DEFAULT_METHOD
from expunge.workflows import destroy

# A summary lists this many files that did not succeed; -v lists them all.
SHOWN_PROBLEMS = 20
MARK = {
    "success": "destroyed",
    "partial": "PARTIAL",
    "failed": "FAILED",
    "interrupted": "INTERRUPTED",
}


class Detail(StrEnum):
    """How much a destruction's text says."""

    FILES = "files"
    SUMMARY = "summary"
    QUIET = "quiet"


def destruction_lines(result: destroy.Destruction) -> Iterator[str]:
    """What one destruction did, its certificate and what the ledger recorded."""
    for outcome in result.files:
        wipe = outcome.wipe
        seconds = sum(p.seconds for p in wipe.passes)
        written = sum(p.bytes_written - p.resumed_from for p in wipe.passes)
        rate = f", {human_bytes(written / seconds)}/s" if seconds else ""
        yield (
            f"{MARK[outcome.status]}: {paths.readable(outcome.path)} "
            f"({human_bytes(wipe.identity.size)}, "
            f"{wipe.method}, {len(wipe.passes)}/{wipe.planned_passes} passes{rate}"
            f"{', removed' if wipe.removed else ', kept'})"
        )
        if outcome.verification is not None:
            yield f"  {verification_line(outcome.verification)}"
        for lim in wipe.limitations:
            yield f"  note: {lim.text}"
        for err in wipe.errors + tuple(p.error for p in wipe.passes if p.error):
            yield f"  error: {err}"
        for line in unwritten_lines(wipe.unwritten):
            yield f"  {line}"
        for event in outcome.journal_events:
            yield f"  {event.kind} at pass {event.pass_index}, offset {event.offset}"
        if outcome.status == "interrupted" and not wipe.removed:
            yield f"  to finish: {resume_command(outcome.path, wipe.method)}"
    for err in result.errors:
        yield f"  error: {err}"
    for left in result.left:
        yield f"  left alone: {left}"
    if not result.files and result.skipped and result.certificate is None:
        yield f"skipped: {paths.readable(result.target)} (declined; nothing was written)"
    if result.kind == "directory":
        yield f"{MARK[result.status]}: {paths.readable(result.target)} ({len(result.files)} files)"
    if result.certificate is not None:
        yield f"certificate ({result.certificate.outcome}): {result.certificate.path}"
    if result.ledger is not None:
        for done in result.ledger.recorded:
            where = ", ".join([*(paths.readable(p) for p in done.paths), *done.media])
            yield f"ledger: {done.doc_id} destroyed at {where} (seq {done.seq})"
        for note in result.ledger.notes:
            yield f"ledger: note: {note}"
        if result.ledger.error:
            yield f"ledger: ERROR: {result.ledger.error}"
        if result.ledger.queued:
            yield queued_line(result.ledger.queued)


def queued_line(path: str) -> str:
    """What the operator is told of a record queued in the outbox."""
    return (
        f"ledger: unreachable; the record is queued in {path} (delivered by 'expunge ledger "
        "sync', or by the next command once the ledger is back)"
    )


def resume_command(path: str, method: str) -> str:
    """The command that finishes an interrupted wipe of ``path``, with the method it used."""
    # Imported here: only an interrupted wipe is told how to resume.
    import shlex

    base, blank = method.removesuffix("+blank"), method.endswith("+blank")
    if base == "custom":
        how = " --passes LIST"  # the same list as before; the journal refuses another
    else:
        how = "" if base == DEFAULT_METHOD else f" -m {shlex.quote(base)}"
    how += " --blank" if blank else ""
    return f"expunge shred --resume{how} {shlex.quote(paths.readable(path))}"


def summary_lines(result: destroy.Destruction) -> Iterator[str]:
    """One destruction of many files in a few lines: totals, each distinct note once with
    the number of files it applies to, every file that did not succeed, the certificate."""
    files = result.files
    size = sum(f.wipe.identity.size for f in files)
    seconds = (result.finished - result.started).total_seconds()
    rate = f", {human_bytes(size / seconds)}/s" if seconds > 0 else ""
    yield (
        f"{MARK[result.status]}: {paths.readable(result.target)} ({len(files)} files, "
        f"{human_bytes(size)} in {seconds:.1f} s{rate})"
    )
    verified = [f for f in files if f.verification is not None]
    if verified:
        passed = sum(1 for f in verified if f.verified)
        mode = verified[0].verification.mode if verified[0].verification else ""
        yield f"  verified: {passed} of {len(verified)} file(s) read back ({mode})"
    notes = Counter(lim.text for f in files for lim in f.wipe.limitations)
    for text, count in notes.items():
        yield f"  note ({count} file{'s' if count > 1 else ''}): {text}"
    problems = [f for f in files if f.status != "success"]
    for outcome in problems[:SHOWN_PROBLEMS]:
        why = [*outcome.wipe.errors, *(p.error for p in outcome.wipe.passes if p.error)]
        if outcome.verification_failed:
            why.append("read-back found other content")
        detail = f": {'; '.join(why)}" if why else ""
        yield f"  {MARK[outcome.status]}: {paths.readable(outcome.path)}{detail}"
    if len(problems) > SHOWN_PROBLEMS:
        yield f"  ... and {len(problems) - SHOWN_PROBLEMS} more (-v lists every file)"
    yield from _common_lines(result)


def _common_lines(result: destroy.Destruction) -> Iterator[str]:
    for err in result.errors:
        yield f"  error: {paths.readable(err)}"
    for left in result.left:
        yield f"  left alone: {paths.readable(left)}"
    if result.skipped:
        yield f"  skipped at your request: {len(result.skipped)} file(s)"
    if result.status == "interrupted":
        pending = [f.path for f in result.files if f.status == "interrupted" and not f.wipe.removed]
        for path in pending[:SHOWN_PROBLEMS]:
            method = result.files[0].wipe.method if result.files else DEFAULT_METHOD
            yield f"  to finish: {resume_command(path, method)}"
    if result.certificate is not None:
        yield f"certificate ({result.certificate.outcome}): {result.certificate.path}"
    elif not result.files and not result.skipped and result.status == "success":
        yield "no certificate: no file held data (only empty folders were removed)"
    yield from _ledger_lines(result)


def _ledger_lines(result: destroy.Destruction) -> Iterator[str]:
    if result.ledger is None:
        return
    recorded = result.ledger.recorded
    if len(recorded) > 3:
        seqs = [r.seq for r in recorded]
        yield (
            f"ledger: {len(recorded)} documents destroyed "
            f"(seq {min(seqs)}-{max(seqs)}; 'expunge ledger list' shows them)"
        )
    else:
        for done in recorded:
            where = ", ".join([*(paths.readable(p) for p in done.paths), *done.media])
            yield f"ledger: {done.doc_id} destroyed at {where} (seq {done.seq})"
    for note in result.ledger.notes:
        yield f"ledger: note: {paths.readable(note)}"
    if result.ledger.error:
        yield f"ledger: ERROR: {result.ledger.error}"
    if result.ledger.queued:
        yield queued_line(result.ledger.queued)


def quiet_lines(result: destroy.Destruction) -> Iterator[str]:
    """Only the certificate, and what went wrong."""
    for outcome in result.files:
        if outcome.status != "success":
            yield f"{MARK[outcome.status]}: {paths.readable(outcome.path)}"
    for err in result.errors:
        yield f"error: {paths.readable(err)}"
    if result.certificate is not None:
        yield str(result.certificate.path)
    if result.ledger is not None and result.ledger.error:
        yield f"ledger: ERROR: {result.ledger.error}"


def destructions_lines(
    results: Sequence[destroy.Destruction], detail: Detail = Detail.FILES
) -> Iterator[str]:
    """Several destructions, one after the other, each as ``detail`` says (a summary only
    for destructions of several files)."""
    for result in results:
        if detail is Detail.QUIET:
            yield from quiet_lines(result)
        elif detail is Detail.SUMMARY and result.kind == "directory":
            yield from summary_lines(result)
        else:
            yield from destruction_lines(result)
