"""Classification policy: a destruction weaker than a document's level requires is refused
before anything is written; shredding a registered path feeds the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import run_cli
from tests.support.json_output import report_json
from tests.support.records import (
    digest_of,
    make_document,
    ok,
    one_line_error,
    register,
    rows,
)

STRICT = """
[classification.secret]
methods = ["dod-3", "gutmann"]
min_passes = 3
min_verify = "full"
"""


@pytest.fixture
def strict_home(cli_home: Path) -> Path:
    (cli_home / "policy.toml").write_text(STRICT)
    return cli_home


def test_weak_shred_of_a_secret_document_is_refused_and_nothing_written(
    tmp_path: Path, strict_home: Path
) -> None:
    target = tmp_path / "secret.txt"
    make_document(target, 64 << 10)
    doc = register(strict_home, target)
    before = digest_of(target)
    entries = rows(strict_home / "ledger.db")

    line = one_line_error(run_cli("shred", target, home=strict_home), 3)
    assert f"{doc} is classified secret" in line
    assert "need one of the methods dod-3, gutmann, not clear" in line
    assert "need at least 3 passes, not 1" in line
    assert "need verification full or stronger, not nist" in line
    assert "nothing was written" in line
    assert digest_of(target) == before
    assert not (strict_home / "certificates").exists()
    assert rows(strict_home / "ledger.db") == entries

    # destroy DOC is held to the same rule; so is a dry run, which says why.
    one_line_error(run_cli("destroy", doc, "--yes", home=strict_home), 3)
    one_line_error(run_cli("shred", "--dry-run", target, home=strict_home), 3)
    assert digest_of(target) == before

    # What the level asks for is accepted, and recorded.
    done = ok(run_cli("destroy", doc, "--yes", "-m", "dod-3", "--verify", "full", home=strict_home))
    assert f"ledger: {doc} destroyed at {target}" in done.out
    assert not target.exists()


def test_other_levels_keep_their_defaults(tmp_path: Path, strict_home: Path) -> None:
    target = tmp_path / "memo.txt"
    make_document(target, 4096)
    doc = register(strict_home, target, "--classification", "confidential")
    result = ok(run_cli("shred", target, "--json", home=strict_home))
    (report,) = report_json(result, "shred")["items"]
    assert report["ledger"]["recorded"][0]["doc_id"] == doc


def test_shred_of_a_registered_path_records_the_certificate(tmp_path: Path, cli_home: Path) -> None:
    target = tmp_path / "minutes.txt"
    make_document(target, 32 << 10)
    doc = register(cli_home, target)
    (report,) = report_json(ok(run_cli("shred", target, "--json", home=cli_home)), "shred")["items"]
    (recorded,) = report["ledger"]["recorded"]
    assert recorded == {"seq": 2, "doc_id": doc, "paths": [str(target)], "media": []}
    shown = json.loads(ok(run_cli("ledger", "show", doc, "--json", home=cli_home)).out)
    assert shown["status"] == "destroyed"
    assert shown["destroyed_by"]["certificate_id"] == Path(report["certificate"]).name.split(".")[0]


def test_changed_content_at_a_registered_path_is_not_recorded(
    tmp_path: Path, cli_home: Path
) -> None:
    target = tmp_path / "draft.txt"
    make_document(target, 4096)
    doc = register(cli_home, target)
    make_document(target, 4096)  # edited after registration: not the registered content
    result = ok(run_cli("shred", target, home=cli_home))
    assert f"recorded as {doc}, but its content was not the registered one" in result.out
    assert not target.exists()
    shown = json.loads(ok(run_cli("ledger", "show", doc, "--json", home=cli_home)).out)
    assert shown["status"] == "registered"

    # destroy DOC never wipes a file that is not the document.
    other = tmp_path / "other.txt"
    make_document(other, 4096)
    doc2 = register(cli_home, other)
    make_document(other, 4096)
    before = digest_of(other)
    line = one_line_error(run_cli("destroy", doc2, "--yes", home=cli_home), 3)
    assert "do not hold the registered content" in line
    assert digest_of(other) == before


def test_bad_policy_file_is_a_usage_error(tmp_path: Path, cli_home: Path) -> None:
    (cli_home / "policy.toml").write_text("[classification.secret]\nmin_passes = 'three'\n")
    target = tmp_path / "x.txt"
    make_document(target, 1024)
    line = one_line_error(
        run_cli("ledger", "register", target, "--classification", "secret", home=cli_home), 2
    )
    assert "policy.toml" in line and "min_passes must be an integer" in line


TYPO = """
[classification.secret]
min_verify = "full"

[classification.secrte]
min_passes = 3
"""


@pytest.mark.parametrize("command", ["register", "shred", "sweep"])
def test_a_policy_naming_an_unknown_level_is_refused_with_its_line(
    tmp_path: Path, cli_home: Path, command: str
) -> None:
    """A typo must not add a level nobody uses while the real one keeps its defaults."""
    target = tmp_path / "x.txt"
    make_document(target, 4096)
    if command != "register":
        register(cli_home, target)  # a secret document, to be destroyed under the policy
    entries = rows(cli_home / "ledger.db") if command != "register" else []
    (cli_home / "policy.toml").write_text(TYPO)
    before = digest_of(target)
    args = {
        "register": ("ledger", "register", target, "--classification", "secret"),
        "shred": ("shred", target),
        "sweep": ("sweep",),
    }[command]
    line = one_line_error(run_cli(*args, home=cli_home), 2)
    assert f"{cli_home / 'policy.toml'}:5: " in line
    assert "unknown classification level 'secrte'" in line
    assert "known levels: public, internal, confidential, secret, top-secret" in line
    assert digest_of(target) == before
    if command == "register":
        assert not (cli_home / "ledger.db").exists()
    else:
        assert rows(cli_home / "ledger.db") == entries
