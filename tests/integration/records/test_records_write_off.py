"""A copy nobody can bring back: ``ledger write-off`` closes it with a signed entry that the
audit accepts and reports, instead of failing forever on an outstanding copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import run_cli
from tests.support.records import (
    append_raw,
    audit_json,
    make_document,
    ok,
    one_line_error,
    problems,
    record_of,
    register,
)


@pytest.fixture
def lost_stick(tmp_path: Path, cli_home: Path) -> tuple[Path, str]:
    """A document destroyed by ``destroy``, its copy on a stick nobody can find."""
    original = tmp_path / "plans.pdf"
    make_document(original, 64 << 10)
    doc = register(cli_home, original)
    ok(run_cli("ledger", "copy", doc, "--medium", "STICK-LOST", home=cli_home))
    ok(run_cli("destroy", doc, "--yes", home=cli_home))
    return cli_home, doc


def test_an_unrecoverable_copy_fails_the_audit_until_written_off(
    lost_stick: tuple[Path, str],
) -> None:
    home, doc = lost_stick
    assert problems(audit_json(home)) == [(2, "outstanding-copy")]

    done = ok(
        run_cli(
            "ledger", "write-off", doc, "--copy", "STICK-LOST", "--reason", "lost",
            "--witness", "Bea Auditor", home=home,
        )
    )  # fmt: skip
    assert "wrote off the copy of seq 2 (lost, witness Bea Auditor)" in done.out

    report = audit_json(home)
    assert report["ok"], report["problems"]
    assert report["written_off"] == [
        {
            "doc_id": doc,
            "copy_seq": 2,
            "location": "medium STICK-LOST",
            "seq": 4,
            "reason": "lost",
            "witness": "Bea Auditor",
        }
    ]
    text = ok(run_cli("audit", home=home)).out
    assert (
        f"written off: {doc}: copy medium STICK-LOST (seq 2) written off at seq 4: lost, "
        "witness Bea Auditor" in text
    )
    assert "audit: OK" in text

    shown = json.loads(ok(run_cli("ledger", "show", doc, "--json", home=home)).out)
    (copy,) = [loc for loc in shown["locations"] if loc["kind"] == "copy"]
    assert copy["status"] == "written-off"
    assert copy["written_off"]["witness"] == "Bea Auditor"
    assert shown["outstanding"] == [] and shown["written_off"] == ["medium STICK-LOST"]
    assert (
        "written off at seq 4 (lost, witness Bea Auditor)"
        in ok(run_cli("ledger", "show", doc, home=home)).out
    )
    # The write-off itself is a signed entry of this station.
    assert record_of(home / "ledger.db", 4)["signature"] is not None


def test_a_copy_is_named_by_seq_and_written_off_once(lost_stick: tuple[Path, str]) -> None:
    home, doc = lost_stick
    base = ("ledger", "write-off", doc, "--reason", "destroyed-physically", "--witness", "W")
    ok(run_cli(*base, "--copy", "2", home=home))
    again = one_line_error(run_cli(*base, "--copy", "2", home=home), 3)
    assert "not outstanding (written-off)" in again


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("--copy", "STICK-ELSEWHERE"), 2, "no recorded copy matches STICK-ELSEWHERE"),
        (("--copy", "1"), 2, "no recorded copy matches 1"),  # seq 1 is the registration
        (("--copy", "STICK-LOST", "--reason", "misplaced"), 2, "misplaced"),
        (("--copy", "STICK-LOST", "--witness", ""), 2, "witness must not be empty"),
    ],
)
def test_bad_write_offs_are_one_line_and_change_nothing(
    lost_stick: tuple[Path, str], args: tuple[str, ...], code: int, words: str
) -> None:
    home, doc = lost_stick
    before = (home / "ledger.db").read_bytes()
    defaults = {"--reason": "lost", "--witness": "W"}
    given = dict(zip(args[::2], args[1::2], strict=True))
    merged = [item for pair in {**defaults, **given}.items() for item in pair]
    line = one_line_error(run_cli("ledger", "write-off", doc, *merged, home=home), code)
    assert words in line
    assert problems(audit_json(home)) == [(2, "outstanding-copy")]
    assert (home / "ledger.db").read_bytes() == before


def test_a_forged_write_off_is_not_accepted(lost_stick: tuple[Path, str]) -> None:
    home, doc = lost_stick
    genuine = record_of(home / "ledger.db", 3)
    forged = {
        **genuine,
        "event": {
            "type": "write-off",
            "doc_id": doc,
            "copy_seq": 2,
            "reason": "lost",
            "witness": "nobody",
        },
        "signature": None,
    }
    seq = append_raw(home / "ledger.db", forged)
    assert problems(audit_json(home)) == [(seq, "unauthenticated")]
