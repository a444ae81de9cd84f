"""Bad input to the ledger commands: one clear line and an exit code, nothing written; and
the date and duration rules themselves."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from expunge.core.clock import add_duration, parse_date, retention
from expunge.core.errors import UsageError
from tests.support import run_cli
from tests.support.records import make_document, ok, one_line_error, register

NOW = datetime(2024, 2, 29, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-01-31", datetime(2027, 1, 31, 23, 59, 59, tzinfo=UTC)),
        ("2027-01-31T17:00:00+01:00", datetime(2027, 1, 31, 16, 0, 0, tzinfo=UTC)),
        ("2027-01-31t17:00:00.25z", datetime(2027, 1, 31, 17, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_dates(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", datetime(2024, 5, 29, 10, 30, tzinfo=UTC)),
        ("2w", datetime(2024, 3, 14, 10, 30, tzinfo=UTC)),
        ("1m", datetime(2024, 3, 29, 10, 30, tzinfo=UTC)),
        ("1y", datetime(2025, 2, 28, 10, 30, tzinfo=UTC)),
        ("4y", datetime(2028, 2, 29, 10, 30, tzinfo=UTC)),
    ],
)
def test_durations(text: str, expected: datetime) -> None:
    assert add_duration(NOW, text) == expected


@pytest.mark.parametrize(
    "text", ["2027-02-30", "2027-13-01", "31/01/2027", "tomorrow", "2027-01-31T25:00:00Z", ""]
)
def test_bad_dates(text: str) -> None:
    with pytest.raises(UsageError, match="--retain-until"):
        parse_date(text)


@pytest.mark.parametrize("text", ["0d", "10", "d", "1.5y", "-3d", "3 days", "9999999d", "9000y"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError, match="--retain-for"):
        add_duration(NOW, text)


def test_retention_takes_one_of_the_two() -> None:
    with pytest.raises(UsageError, match="both given"):
        retention("2027-01-01", "1y", NOW)
    assert retention(None, None, NOW) is None


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("--retain-until", "2027-02-30"), 2, "is not a real date"),
        (("--retain-for", "10x"), 2, "is not a duration"),
        (("--retain-until", "2027-01-01", "--retain-for", "1y"), 2, "both given"),
        (("--id", "no spaces allowed"), 2, "is not a valid document id"),
    ],
)
def test_bad_register_options(
    tmp_path: Path, cli_home: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    target = tmp_path / "doc.txt"
    make_document(target, 1024)
    result = run_cli(
        "ledger", "register", target, "--classification", "secret", *args, home=cli_home
    )
    assert says in one_line_error(result, code)
    assert not (cli_home / "ledger.db").exists()


def test_refusals_name_the_target(tmp_path: Path, cli_home: Path) -> None:
    target = tmp_path / "doc.txt"
    make_document(target, 1024)
    line = one_line_error(
        run_cli("ledger", "register", target, "--classification", "cosmic", home=cli_home), 2
    )
    assert "unknown classification 'cosmic'" in line and "top-secret" in line
    line = one_line_error(
        run_cli(
            "ledger", "register", tmp_path / "missing", "--classification", "secret", home=cli_home
        ),
        4,
    )
    assert "no such file" in line
    assert not (cli_home / "ledger.db").exists()
    line = one_line_error(run_cli("ledger", "show", "DOC-1", home=cli_home), 4)
    assert "no ledger here" in line

    doc = register(cli_home, target)
    for args in (("ledger", "show", "DOC-NOPE"), ("destroy", "DOC-NOPE", "--yes")):
        line = one_line_error(run_cli(*args, home=cli_home), 4)
        assert line.startswith("expunge: DOC-NOPE: no such document in the ledger")
    line = one_line_error(run_cli("ledger", "copy", doc, home=cli_home), 2)
    assert "--to PATH or --medium TOKEN" in line
    impostor = tmp_path / "impostor.txt"
    make_document(impostor, 1024)
    line = one_line_error(run_cli("ledger", "copy", doc, "--to", impostor, home=cli_home), 4)
    assert f"not a copy of {doc}" in line
    line = one_line_error(
        run_cli("ledger", "register", target, "--classification", "secret", home=cli_home), 2
    )
    assert f"{doc} is already recorded here" in line

    # No terminal and no --yes: refused, nothing written.
    line = one_line_error(run_cli("destroy", doc, home=cli_home, stdin=subprocess.DEVNULL), 3)
    assert "needs confirmation" in line and "--yes" in line
    assert target.exists()
    shown = json.loads(ok(run_cli("ledger", "show", doc, "--json", home=cli_home)).out)
    assert shown["history"] == [1]
