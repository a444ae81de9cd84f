"""Every reporting command's ``--json`` follows one set of conventions (issue [8/8]).

Each document is an object with ``schema`` and ``version`` that validates against its
published schema; every time in it is RFC 3339 UTC with ``Z``; a dry run of ``shred`` has
the shape of a real run; passes count from 0 as in certificates; a failure under
``--json`` is one ``error`` object on stderr whose ``exit_code`` is the process's.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from expunge.commands.schemas import output_names, schema_text
from expunge.core.errors import EXIT_TARGET, EXIT_USAGE
from tests.support import Result, run_cli
from tests.support.json_output import error_json, report_json

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def times_in(document: Any) -> list[str]:
    """Every string of ``document`` that is a timestamp."""
    return [s for s in _strings(document) if TIME.match(s)]


def ok(result: Result) -> Result:
    assert result.code == 0, result.err
    return result


def write(path: Path, size: int = 64 << 10) -> Path:
    path.write_bytes(bytes(range(256)) * (size // 256))
    return path


def reporting_runs(home: Path, work: Path) -> Iterator[tuple[str, Result]]:
    """Every command that reports, run with ``--json`` on a real home: ``(schema, run)``.

    The runs build on each other (a key, documents, certificates), as an operator's would.
    """
    auditor = work / "auditor-home"
    yield "key", ok(run_cli("key", "init", "--json", home=home))
    yield "key", ok(run_cli("key", "show", "--json", home=home))
    yield "methods", ok(run_cli("methods", "--json"))
    yield "config-show", ok(run_cli("config", "show", "--json", home=home))
    one = write(work / "one.bin")
    yield (
        "ledger-register",
        ok(
            run_cli(
                "ledger", "register", one, "--classification", "confidential", "--json", home=home
            )
        ),
    )
    many = work / "many"
    many.mkdir()
    for name in ("a", "b"):
        write(many / name)
    yield (
        "ledger-register-many",
        ok(
            run_cli(
                "ledger",
                "register",
                "-r",
                many,
                "--classification",
                "internal",
                "--json",
                home=home,
            )
        ),
    )
    listed = ok(run_cli("ledger", "list", "--json", home=home))
    yield "ledger-list", listed
    doc = next(d for d in json.loads(listed.out)["items"] if d["classification"] == "confidential")
    copy = write(work / "copy.bin")
    yield (
        "ledger-entry",
        ok(run_cli("ledger", "copy", doc["doc_id"], "--to", copy, "--json", home=home)),
    )
    yield (
        "ledger-entry",
        ok(
            run_cli(
                "ledger", "transfer", doc["doc_id"], "--to", "records office", "--json", home=home
            )
        ),
    )
    yield "ledger-show", ok(run_cli("ledger", "show", doc["doc_id"], "--json", home=home))
    yield "shred", ok(run_cli("shred", "--dry-run", "--json", copy, home=home))
    yield "shred", ok(run_cli("shred", "--json", "-m", "dod-3", "--verify-all", copy, home=home))
    loose = write(work / "loose.bin")
    yield "shred", ok(run_cli("shred", "--json", "--keep", loose, home=home))
    yield (
        "verify",
        ok(run_cli("verify", loose, "--cert", _newest_certificate(home), "--json", home=home)),
    )
    yield "destroy", ok(run_cli("destroy", doc["doc_id"], "--yes", "--json", home=home))
    sealed = write(work / "sealed.txt")
    yield "seal", ok(run_cli("seal", sealed, "--classification", "secret", "--json", home=home))
    yield (
        "unseal",
        ok(run_cli("unseal", f"{sealed}.sealed", "-o", work / "unsealed.txt", "--json", home=home)),
    )
    certificate = _newest_certificate(home)
    yield "cert-verify", ok(run_cli("cert", "verify", certificate, "--json", home=home))
    yield "cert-list", ok(run_cli("cert", "list", "--json", home=home))
    yield "cert-show", ok(run_cli("cert", "show", certificate, "--json", home=home))
    ok(run_cli("key", "init", home=auditor))
    yield "cert-countersign", ok(
        run_cli(
            "cert", "countersign", certificate, "--key", auditor / "station.key",
            "-o", work / "countersigned.cert.json", "--name", "A. Auditor", "--json", home=home,
        )
    )  # fmt: skip
    yield "ledger-entry", ok(run_cli("ledger", "checkpoint", "--json", home=home))
    yield "ledger-status", ok(run_cli("ledger", "status", "--json", home=home))
    yield "ledger-sync", ok(run_cli("ledger", "sync", "--json", home=home))
    yield "recover", ok(run_cli("recover", "--json", home=home))
    yield "sweep", ok(run_cli("sweep", "--dry-run", "--now", "2099-01-01", "--json", home=home))
    yield "sweep", ok(run_cli("sweep", "--json", home=home))
    yield "audit", ok(run_cli("audit", "--json", home=home))
    yield (
        "report",
        ok(
            run_cli("report", "--since", "2000-01-01", "--until", "2099-12-31", "--json", home=home)
        ),
    )
    yield "demo", ok(run_cli("demo", "--size", "65536", "--json", home=home))


def _newest_certificate(home: Path) -> Path:
    return max((home / "certificates").glob("*.cert.json"), key=lambda p: p.stat().st_mtime_ns)


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, dict[str, Any]]]:
    """Every reporting command's document, each validated against its schema."""
    work = tmp_path_factory.mktemp("json-conventions")
    home = work / "home"
    home.mkdir()
    return [(name, report_json(run, name)) for name, run in reporting_runs(home, work)]


def test_every_document_validates_against_its_schema(
    documents: list[tuple[str, dict[str, Any]]],
) -> None:
    reported = {name for name, _ in documents}
    # Not run here: PostgreSQL (fleet tests), LUKS and drives (root, loop devices).
    elsewhere = {
        "error", "drive-event", "drive-list", "fill", "shred-luks",
        "ledger-setup-postgres", "ledger-migrate",
    }  # fmt: skip
    assert reported | elsewhere == set(output_names())


def test_every_schema_is_a_draft_2020_12_schema_with_its_id() -> None:
    for name in output_names():
        schema = json.loads(schema_text(name))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"https://expunge.dev/output/{name}/v1/schema.json"
        assert schema["properties"]["schema"] == {"const": f"https://expunge.dev/output/{name}/v1"}


def test_every_time_is_rfc3339_utc_with_z(documents: list[tuple[str, dict[str, Any]]]) -> None:
    found = [(name, t) for name, document in documents for t in times_in(document)]
    assert len(found) > 20
    assert [(name, t) for name, t in found if not t.endswith("Z")] == []


def test_a_dry_run_has_the_shape_of_a_real_run(
    documents: list[tuple[str, dict[str, Any]]],
) -> None:
    dry, real, *_ = (document for name, document in documents if name == "shred")
    assert (dry["dry_run"], real["dry_run"]) == (True, False)
    assert dry.keys() == real.keys()
    planned, done = dry["items"][0], real["items"][0]
    assert planned.keys() == done.keys() and planned["status"] == "planned"
    assert planned["files"][0].keys() == done["files"][0].keys()
    assert planned["files"][0]["wipe"] is None and planned["certificate"] is None
    assert planned["files"][0]["plan"]["size"] == 64 << 10


def test_passes_count_from_0_as_in_the_certificate(
    documents: list[tuple[str, dict[str, Any]]],
) -> None:
    real = [document for name, document in documents if name == "shred"][1]
    (item,) = real["items"]
    (file,) = item["files"]
    assert [p["index"] for p in file["wipe"]["passes"]] == [0, 1, 2]
    envelope = json.loads(Path(item["certificate"]).read_bytes())
    payload = json.loads(base64.b64decode(envelope["payload"]))
    (subject,) = payload["subjects"]
    assert [p["index"] for p in subject["passes"]] == [0, 1, 2]
    checked = [v["pass_index"] for v in subject["verifications"]]
    assert checked == [0, 1, 2] or checked[-1] == 2


def test_a_failure_under_json_is_one_error_object(cli_home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    result = run_cli("shred", "--json", missing, home=cli_home)
    assert result.code == EXIT_TARGET and result.out == ""
    error = error_json(result)
    assert error["target"] == str(missing) and error["remedy"]
    text = run_cli("shred", missing, home=cli_home)
    assert (text.code, text.err) == (EXIT_TARGET, f"expunge: {error['target']}: "
                                     f"{error['error']}; {error['remedy']}\n")  # fmt: skip


def test_a_usage_error_under_json_is_one_error_object(cli_home: Path) -> None:
    result = run_cli("shred", "--json", "--no-such-option", "x", home=cli_home)
    assert result.code == EXIT_USAGE and result.out == ""
    error = error_json(result)
    assert "--no-such-option" in error["error"] and "expunge shred --help" in error["remedy"]
    # --json after a --: a file name, not the option.
    plain = run_cli("shred", "--no-such-option", "--", "--json", home=cli_home)
    assert plain.code == EXIT_USAGE and plain.err.startswith("expunge: ")


def test_countersign_and_demo_fail_as_json_too(cli_home: Path, tmp_path: Path) -> None:
    result = run_cli(
        "cert", "countersign", tmp_path / "none.cert.json", "--key", tmp_path / "k",
        "--in-place", "--json", home=cli_home,
    )  # fmt: skip
    assert result.out == ""
    assert error_json(result)["target"] == str(tmp_path / "none.cert.json")
