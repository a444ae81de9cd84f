"""``ledger register PATH... -r``: many files in one call, one transaction per batch,
every file once, duplicates refused as a single ``register`` refuses them."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from expunge.core.config import Home, StationSettings
from expunge.ledger.classification import DEFAULT_POLICY
from expunge.workflows import certify, records
from tests.support import run_cli
from tests.support.records import audit_json, make_document, ok, one_line_error, problems, rows

RAW_NAME = os.fsdecode(b"r\xe9sum\xe9-\xff.pdf")  # Latin-1 bytes: not UTF-8


def _tree(root: Path) -> set[str]:
    """Nested folders, an empty one, a name that is not UTF-8, and a symlink (never
    registered, never followed); the files' absolute paths."""
    files = {
        root / "a.pdf",
        root / "sub" / "b.pdf",
        root / "sub" / "deeper" / "c.pdf",
        root / "sub" / "deeper" / RAW_NAME,
        root / "other" / "d.txt",
    }
    (root / "empty").mkdir(parents=True)
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        make_document(path, 4096)
    (root / "sub" / "link.pdf").symlink_to("/etc/hostname")
    (root / "sub" / "linked-dir").symlink_to(root / "other")
    return {str(p) for p in files}


def _registered(home: Path) -> list[dict[str, object]]:
    listed = json.loads(ok(run_cli("ledger", "list", "--json", home=home)).out)["items"]
    assert isinstance(listed, list)
    return listed


def _raw_path(doc: dict[str, object]) -> str:
    if "path_bytes" in doc:
        return os.fsdecode(base64.b64decode(str(doc["path_bytes"])))
    return str(doc["path"])


def test_register_r_registers_every_file_of_a_tree_once(tmp_path: Path) -> None:
    home, root = tmp_path / "home", tmp_path / "tree"
    files = _tree(root)
    # The tree, and one of its files named again: still registered once.
    result = ok(
        run_cli(
            "ledger", "register", "-r", root, root / "a.pdf", "--classification", "secret",
            home=home,
        )
    )  # fmt: skip
    assert result.out.strip().startswith("registered 5 documents (DOC-")
    assert "2 entries are not regular files" in result.err  # the two symlinks
    documents = _registered(home)
    assert sorted(_raw_path(d) for d in documents) == sorted(files)
    assert all(d["classification"] == "secret" and d["status"] == "registered" for d in documents)
    raw = next(d for d in documents if "path_bytes" in d)
    assert raw["path"] == str(root / "sub" / "deeper" / "r\\xe9sum\\xe9-\\xff.pdf")
    assert problems(audit_json(home)) == []

    # Again: refused as one register refuses a registered path, nothing appended.
    before = rows(home / "ledger.db")
    line = one_line_error(
        run_cli("ledger", "register", "-r", root, "--classification", "secret", home=home), 2
    )
    assert "is already recorded here" in line and "and 4 more" in line
    assert "--skip-registered" in line
    assert rows(home / "ledger.db") == before

    # A new file: with --skip-registered only it is registered.
    make_document(root / "sub" / "new.pdf", 4096)
    result = ok(
        run_cli(
            "ledger", "register", "-r", root, "--classification", "secret",
            "--skip-registered", "--json", home=home,
        )
    )  # fmt: skip
    report = json.loads(result.out)
    assert [r["path"] for r in report["registered"]] == [str(root / "sub" / "new.pdf")]
    assert len(report["skipped_registered"]) == 5
    assert len(_registered(home)) == 6


def test_a_registered_file_whose_name_is_not_utf8_is_destroyed_and_audited(
    tmp_path: Path,
) -> None:
    home, root = tmp_path / "home", tmp_path / "tree"
    _tree(root)
    ok(run_cli("ledger", "register", "-r", root, "--classification", "secret", home=home))
    target = root / "sub" / "deeper" / RAW_NAME
    ok(run_cli("shred", target, home=home))
    assert not target.exists()
    (doc,) = [d for d in _registered(home) if "path_bytes" in d]
    assert doc["status"] == "destroyed"
    report = audit_json(home)
    assert problems(report) == [] and report["destroy_events"] == 1


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["{root}"], "is a directory; pass -r"),
        (["-r", "{root}", "--id", "DOC-X"], "--id names one document"),
        (["{root}/a.pdf", "{root}/sub/b.pdf", "--title", "T"], "--title names one document"),
        (["-r", "{root}", "{root}/missing.pdf"], "missing.pdf"),
    ],
)
def test_bad_many_registrations_are_refused_before_anything_is_written(
    tmp_path: Path, args: list[str], complaint: str
) -> None:
    home, root = tmp_path / "home", tmp_path / "tree"
    _tree(root)
    result = run_cli(
        "ledger", "register", *(a.format(root=root) for a in args),
        "--classification", "secret", home=home,
    )  # fmt: skip
    line = one_line_error(result, 2 if "names one" in complaint or "-r" in complaint else 4)
    assert complaint in line
    assert not (home / "ledger.db").exists() or rows(home / "ledger.db") == []


def test_batches_are_one_transaction_each_signed_once(tmp_path: Path) -> None:
    """10 files in batches of 3: four transactions, each closed by one station signature,
    and consecutive generated ids."""
    home = Home(tmp_path / "home").ensure()
    station = certify.Station.open(home, StationSettings(operator="alice"), None)
    paths = [tmp_path / f"f{n:02d}.pdf" for n in range(10)]
    for path in paths:
        make_document(path, 1024)
    contents = records.read_all(str(p) for p in paths)
    with records.create_ledger(home, station) as store:
        done = records.register_documents(
            store,
            contents,
            classification="secret",
            policy=DEFAULT_POLICY,
            custodian="alice",
            retain_until=None,
            skip_registered=False,
            actor="alice",
            now=datetime(2026, 5, 1, tzinfo=UTC),
            batch=3,
        )
    assert [e.event.doc_id for e in done.entries] == [f"DOC-2026-{n:06d}" for n in range(1, 11)]
    signed = [seq for seq, record, _, _ in rows(home.ledger_path) if '"signature":{' in record]
    assert signed == [3, 6, 9, 10]
    assert problems(audit_json(home.root)) == []
