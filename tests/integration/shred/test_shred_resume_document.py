"""A registered document caught mid-pass and finished later is recorded (issue [2/8]).

The run is signalled by strace at a counted ``pwrite64``, so it is caught in the middle of
a pass every time, not after a guessed delay. The digest read before the first write is
kept in the wipe journal: whichever way the overwrite is finished (``shred --resume``, or
``destroy DOC`` again), after a Ctrl-C or a kill, the finishing certificate cites the
document with its registered digest and the ledger records it destroyed. A journal whose
digest was edited, or one of the older format without it, never records a document.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from expunge.core.errors import EXIT_INTEGRITY, EXIT_REFUSED, EXIT_SIGINT
from expunge.shred.overwrite import CHUNK_BYTES
from expunge.shred.resume import CHECKPOINT_BYTES
from tests.support import run_cli, run_state_left
from tests.support.hazards import no_traceback, register, run_signalled, station
from tests.support.resume import certificate, certificates

SIZE = 64 << 20
METHOD = "dod-3"  # three passes of SIZE // CHUNK_BYTES writes each
# The run takes room for its record first (a few one-byte writes), then the engine writes
# 4 MiB chunks, 16 per pass: the 32nd pwrite64 lands in the middle of pass 2 however many
# writes that room took (up to 15).
MID_PASS_2 = 2 * SIZE // CHUNK_BYTES
# No checkpoint inside a pass this short: a killed run resumes from the start of its pass.
assert SIZE < CHECKPOINT_BYTES


def _document(tmp_path: Path, name: str = "minutes.bin") -> tuple[Path, Path, str, str]:
    """A fresh station with one registered document: home, file, id, registered digest."""
    home = station(tmp_path)
    doc = tmp_path / "docs" / name
    doc.parent.mkdir(exist_ok=True)
    doc.write_bytes(os.urandom(SIZE))
    doc_id = register(home, os.fsencode(doc))
    return home, doc, doc_id, _shown(home, doc_id)["digest"]


def _shown(home: Path, doc_id: str) -> dict[str, Any]:
    shown = run_cli("ledger", "show", doc_id, "--json", home=home)
    assert shown.code == 0, shown
    data: dict[str, Any] = json.loads(shown.out)
    return data


def _start(starter: str, doc: Path, doc_id: str) -> list[str]:
    if starter == "shred":
        return ["shred", "-q", "-m", METHOD, str(doc)]
    return ["destroy", doc_id, "--yes", "-m", METHOD]


def _finish(finisher: str, doc: Path, doc_id: str) -> list[str]:
    if finisher == "shred":
        return ["shred", "-m", METHOD, "--resume", str(doc)]
    return ["destroy", doc_id, "--yes", "-m", METHOD]


def _journal_file(home: Path) -> Path:
    (journal,) = (home / "journal").glob("*.journal.json")
    return journal


def _journal(home: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_journal_file(home).read_text(encoding="utf-8"))
    return data


def _edit_journal(home: Path, **fields: Any) -> None:
    data = _journal(home)
    data.update(fields)
    _journal_file(home).write_text(json.dumps(data), encoding="utf-8")


def _interrupt(home: Path, args: list[str], signal: str) -> None:
    """Run ``args``, signalled in the middle of pass 2; for a kill, ``recover`` then."""
    done = run_signalled(list(args), home, "pwrite64", MID_PASS_2, signal)
    if signal == "INT":
        no_traceback(done)
        assert done.code == EXIT_SIGINT, done
        # The remedy printed is the command that finishes it.
        again = "--resume" if args[0] == "shred" else f"run 'expunge destroy {args[1]}' again"
        assert again in done.err, done
        return
    assert done.code < 0  # killed
    recovered = run_cli("recover", home=home)
    no_traceback(recovered)
    assert recovered.code == 0, recovered
    assert "--resume" in recovered.out + recovered.err


@pytest.mark.slow
@pytest.mark.parametrize(
    ("starter", "signal", "finisher"),
    [
        ("shred", "INT", "shred"),
        ("shred", "INT", "destroy"),
        ("destroy", "INT", "destroy"),
        ("destroy", "INT", "shred"),
        ("shred", "KILL", "shred"),
        ("destroy", "KILL", "destroy"),
    ],
)
def test_a_document_caught_mid_pass_is_recorded_when_resumed(
    tmp_path: Path, starter: str, signal: str, finisher: str
) -> None:
    home, doc, doc_id, digest = _document(tmp_path)
    _interrupt(home, _start(starter, doc, doc_id), signal)

    # Caught in pass 2: the digest read before the first write is in the journal; a
    # Ctrl-C syncs and journals where it stopped, a kill leaves the start of the pass.
    journal = _journal(home)
    assert journal["digest"] == digest and journal["pass"] == 2
    offset = journal["offset"]
    if signal == "INT":
        assert 0 < offset < SIZE and offset % CHUNK_BYTES == 0
    else:
        assert offset == 0
    assert doc.exists() and doc.read_bytes() != b""
    assert _shown(home, doc_id)["status"] == "registered"

    finished = run_cli(*_finish(finisher, doc, doc_id), home=home)
    no_traceback(finished)
    assert finished.code == 0, finished
    assert not doc.exists()
    shown = _shown(home, doc_id)
    assert shown["status"] == "destroyed"
    cited = shown["destroyed_by"]["certificate_id"]
    (path,) = [c for c in (home / "certificates").glob("*.cert.json") if c.stem.startswith(cited)]
    verdict = run_cli("cert", "verify", path, home=home)
    assert verdict.code == 0, verdict
    cert = certificate(path)
    assert cert["outcome"] == "success"
    (subject,) = cert["subjects"]
    assert subject["subject"]["document_id"] == doc_id
    assert subject["subject"]["content_blake3"] == digest
    # It resumed where the journal stood: the first pass (pass 0, as certificates count
    # them) not written again.
    assert f"{doc}: resumed at pass 1, offset {offset} (" in cert["notes"]
    audited = run_cli("audit", home=home)
    assert audited.code == 0, audited
    assert run_state_left(home) == []


@pytest.mark.slow
def test_an_edited_digest_in_the_journal_never_records_a_document(tmp_path: Path) -> None:
    """The journal's digest is the registered one of another document: neither is
    recorded; shred finishes the overwrite and says so, destroy refuses and writes nothing."""
    home, doc, doc_id, _ = _document(tmp_path)
    other = tmp_path / "docs" / "other.bin"
    other.write_bytes(os.urandom(4096))
    other_id = register(home, os.fsencode(other))
    _interrupt(home, _start("shred", doc, doc_id), "INT")
    _edit_journal(home, digest=_shown(home, other_id)["digest"])

    before = doc.read_bytes()
    refused = run_cli(*_finish("destroy", doc, doc_id), home=home)
    no_traceback(refused)
    assert refused.code == EXIT_REFUSED, refused
    assert "do not hold the registered content" in refused.err
    assert doc.read_bytes() == before

    finished = run_cli(*_finish("shred", doc, doc_id), home=home)
    no_traceback(finished)
    assert finished.code == 0, finished
    assert not doc.exists()
    assert f"recorded as {doc_id}, but its content was not the registered one" in (
        finished.out + finished.err
    )
    assert _shown(home, doc_id)["status"] == "registered"
    assert _shown(home, other_id)["status"] == "registered"
    last = certificates(home)[-1]
    assert last["outcome"] == "success"
    assert last["subjects"][0]["subject"]["document_id"] is None


def test_a_journal_digest_that_is_not_one_is_refused_in_one_line(tmp_path: Path) -> None:
    home, doc, doc_id, _ = _document(tmp_path)
    _interrupt(home, _start("shred", doc, doc_id), "INT")
    _edit_journal(home, digest="not a digest")
    before = doc.read_bytes()
    for finisher in ("shred", "destroy"):
        refused = run_cli(*_finish(finisher, doc, doc_id), home=home)
        no_traceback(refused)
        assert refused.code == EXIT_INTEGRITY, refused
        assert "invalid wipe journal: digest must be null or" in refused.err
        assert str(_journal_file(home)) in refused.err
    assert doc.read_bytes() == before
    assert _shown(home, doc_id)["status"] == "registered"


def test_a_journal_of_the_older_format_resumes_without_recording_the_document(
    tmp_path: Path,
) -> None:
    """Schema 2 kept no digest: the overwrite is finished, the document is not confirmed
    (its content is partly gone) and stays registered, with the note saying why."""
    home, doc, doc_id, _ = _document(tmp_path)
    _interrupt(home, _start("shred", doc, doc_id), "INT")
    data = _journal(home)
    data["schema"] = 2
    del data["digest"]
    _journal_file(home).write_text(json.dumps(data), encoding="utf-8")

    finished = run_cli(*_finish("shred", doc, doc_id), home=home)
    no_traceback(finished)
    assert finished.code == 0, finished
    assert not doc.exists()
    assert "its content was not the registered one" in finished.out + finished.err
    assert _shown(home, doc_id)["status"] == "registered"
