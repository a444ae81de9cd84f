"""Certificates as an auditor meets them, issued by real shreds through the commands:
their fields, an untrusted one shown under its banner, countersigning, the audit's
breakdown by outcome, the register (cert list) and the period report."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support import mounted_image, need_tool, run_cli
from tests.support.json_output import report_json


def around_today() -> tuple[str, str]:
    """``--since``/``--until`` days that hold every certificate a test just issued, also
    when the test runs across midnight."""
    today = datetime.now(UTC).date()
    return (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()


def shred(tmp_path: Path, home: Path, name: str, *args: str) -> dict[str, object]:
    """Shred a fresh 256 KiB file named ``name``; the JSON report of its certificate."""
    target = tmp_path / name
    target.write_bytes((name.encode() * 262_144)[:262_144])
    result = run_cli("shred", target, "--json", *args, home=home)
    assert result.code == 0, result
    (report,) = report_json(result, "shred")["items"]
    return report


def payload(home: Path, cert: object) -> dict[str, object]:
    shown = run_cli("cert", "show", str(cert), "--json", home=home)
    assert shown.code == 0, shown
    certificate = json.loads(shown.out)["certificate"]
    assert isinstance(certificate, dict)
    return certificate


@pytest.fixture
def mixed_home(tmp_path: Path, cli_home: Path) -> tuple[Path, str, str]:
    """A home holding a success certificate and a partial one (read back: none)."""
    good = shred(tmp_path, cli_home, "good.txt")
    partial = shred(tmp_path, cli_home, "unverified.txt", "--verify", "none")
    assert (good["certificate_outcome"], partial["certificate_outcome"]) == ("success", "partial")
    return cli_home, str(good["certificate"]), str(partial["certificate"])


def test_job_and_station_fields_are_signed_into_the_certificate(
    tmp_path: Path, cli_home: Path
) -> None:
    (cli_home / "config.toml").write_text(
        '[station]\norganization = "Example Agency"\nphone = "+49 228 99 0"\n'
        'media_source = "records office"\n',
        encoding="utf-8",
    )
    report = shred(
        tmp_path, cli_home, "minutes.txt",
        "--operator", "Ann Smith", "--asset-tag", "INV-2291", "--destination", "storage",
        "--classification", "secret",
    )  # fmt: skip
    data = payload(cli_home, report["certificate"])
    assert data["person"]["name"] == "Ann Smith"
    assert data["person"]["phone"] == "+49 228 99 0"
    assert data["person"]["organization"] == "Example Agency"
    media = data["media"]
    assert (media["asset_tag"], media["source"], media["classification"]) == (
        "INV-2291",
        "records office",
        "secret",
    )
    assert data["destination"] == "storage"
    shown = run_cli("cert", "show", report["certificate"], home=cli_home).out
    for line in ("Phone         +49 228 99 0", "Asset tag       INV-2291", "Media destination"):
        assert line in shown, line

    # Without the options, the station's defaults and the workflow's own values apply.
    plain = payload(cli_home, shred(tmp_path, cli_home, "plain.txt")["certificate"])
    assert "asset_tag" not in plain["media"] and plain["media"]["classification"] == ""
    assert plain["destination"] == "file removed"
    assert plain["media"]["source"] == "records office"


def test_a_registered_document_gives_its_classification(tmp_path: Path, cli_home: Path) -> None:
    target = tmp_path / "budget.txt"
    target.write_bytes(b"budget 2027\n" * 20_000)
    registered = run_cli("ledger", "register", target, "--classification", "secret", home=cli_home)
    assert registered.code == 0, registered
    done = run_cli("shred", target, "--json", home=cli_home)
    assert done.code == 0, done
    (report,) = report_json(done, "shred")["items"]
    assert payload(cli_home, report["certificate"])["media"]["classification"] == "secret"


def test_an_unverified_destruction_is_not_declassified(mixed_home: tuple[Path, str, str]) -> None:
    home, good, partial = mixed_home
    assert payload(home, good)["sanitization"]["post_classification"].startswith("unclassified")
    assert payload(home, partial)["sanitization"]["post_classification"] == (
        "unchanged: not declassified (the destruction's outcome is partial)"
    )


def test_a_copy_on_write_file_shredded_anyway_keeps_its_classification(
    tmp_path: Path, cli_home: Path
) -> None:
    with mounted_image(tmp_path, "btrfs", 128 << 20) as fs:
        target = fs.mount / "plan.txt"
        target.write_bytes(b"secret plan\n" * 30_000)
        done = run_cli(
            "shred", target, "--accept-limitations", "--classification", "secret", "--json",
            home=cli_home,
        )  # fmt: skip
        assert done.code == 0, done
    (report,) = report_json(done, "shred")["items"]
    data = payload(cli_home, report["certificate"])
    assert data["outcome"] == "success" and data["media"]["classification"] == "secret"
    claim = data["sanitization"]["post_classification"]
    assert claim.startswith("unchanged: not declassified (limitations recorded: ")
    assert "copy-on-write" in claim
    shown = run_cli("cert", "show", report["certificate"], home=cli_home).out
    assert "unclassified" not in shown


def test_an_untrusted_certificate_is_shown_under_its_banner(
    tmp_path: Path, mixed_home: tuple[Path, str, str]
) -> None:
    _, good, _ = mixed_home
    stranger = tmp_path / "auditor-home"
    shown = run_cli("cert", "show", good, home=stranger)
    assert shown.code == 7, shown
    assert "*** UNTRUSTED - NOT VALID" in shown.out
    assert "good.txt" in shown.out and "Signed by key       NOT VERIFIED" in shown.out
    assert "unknown-key" in shown.out and "Traceback" not in shown.err
    as_json = run_cli("cert", "show", good, "--json", home=stranger)
    assert as_json.code == 7
    data = json.loads(as_json.out)
    assert data["certificate"] is None and data["claimed_certificate"]["target"].endswith(
        "good.txt"
    )


def test_countersign_refuses_a_partial_certificate_and_never_rewrites_unasked(
    tmp_path: Path, mixed_home: tuple[Path, str, str]
) -> None:
    home, good, partial = mixed_home
    auditor = tmp_path / "auditor"
    assert run_cli("key", "init", home=auditor).code == 0
    key = auditor / "station.key"
    before = Path(partial).read_bytes()

    refused = run_cli("cert", "countersign", partial, "--key", key, "-o", tmp_path / "x", home=home)
    assert refused.code == 3, refused
    assert "records outcome partial" in refused.err and "--outcome-acknowledged" in refused.err
    assert not (tmp_path / "x").exists() and Path(partial).read_bytes() == before

    nowhere = run_cli("cert", "countersign", good, "--key", key, home=home)
    assert nowhere.code == 2 and "-o OUT" in nowhere.err
    itself = run_cli("cert", "countersign", good, "--key", key, "-o", good, home=home)
    assert itself.code == 2 and "--in-place" in itself.err

    out = tmp_path / "acknowledged.cert.json"
    acknowledged = run_cli(
        "cert", "countersign", partial, "--key", key, "--outcome-acknowledged", "-o", out,
        home=home,
    )  # fmt: skip
    assert acknowledged.code == 0, acknowledged
    assert Path(partial).read_bytes() == before  # the original is left as it was
    auditor_pub = tmp_path / "auditor.pub"
    assert run_cli("key", "export", "-o", auditor_pub, home=auditor).code == 0
    checked = run_cli("cert", "verify", out, "--trust-auditor", auditor_pub, "--json", home=home)
    (verdict,) = report_json(checked, "cert-verify")["items"]
    (validation,) = verdict["countersignatures"]
    assert validation["status"] == "valid"
    assert validation["validation"]["note"] == "outcome partial acknowledged"

    good_before = Path(good).read_bytes()
    in_place = run_cli("cert", "countersign", good, "--key", key, "--in-place", home=home)
    assert in_place.code == 0, in_place
    assert Path(good).read_bytes() != good_before
    both = run_cli(
        "cert", "verify", good, "--require-countersign", "--trust-auditor", auditor_pub, home=home
    )
    assert both.code == 0, both


def test_audit_counts_outcomes_and_strict_fails_on_a_partial(
    mixed_home: tuple[Path, str, str],
) -> None:
    home, _, partial = mixed_home
    partial_id = Path(partial).name.removesuffix(".cert.json")
    relaxed = run_cli("audit", home=home)
    assert relaxed.code == 0, relaxed
    assert "certificates by outcome: success 1, partial 1, failed 0, interrupted 0" in relaxed.out
    assert f"not success: certificate {partial_id} " in relaxed.out
    assert "unverified.txt: partial" in relaxed.out and "audit: OK" in relaxed.out

    strict = run_cli("audit", "--strict", home=home)
    assert strict.code == 7, strict
    assert f"FAILED: certificate {partial_id}" in strict.out
    assert "audit: FAILED (--strict: 1 certificates do not record success)" in strict.out
    assert "--strict" in strict.err and "Traceback" not in strict.err
    data = json.loads(run_cli("audit", "--strict", "--json", home=home).out)
    assert data["ok"] is False and data["outcomes"]["by_outcome"]["partial"] == 1
    assert [n["certificate_id"] for n in data["outcomes"]["not_success"]] == [partial_id]


def _listed(home: Path, *args: str) -> list[dict[str, object]]:
    result = run_cli("cert", "list", "--json", *args, home=home)
    assert result.code == 0, result
    rows: list[dict[str, object]] = report_json(result, "cert-list")["items"]
    return rows


def test_cert_list_filters(tmp_path: Path, mixed_home: tuple[Path, str, str]) -> None:
    home, good, partial = mixed_home
    document = tmp_path / "registered.txt"
    document.write_bytes(b"registered\n" * 30_000)
    run_cli(
        "ledger", "register", document, "--classification", "secret", "--id", "DOC-7", home=home
    )
    assert run_cli("shred", document, home=home).code == 0

    everything = _listed(home)
    assert len(everything) == 3 and {r["signature"] for r in everything} == {"verified"}
    assert [r["outcome"] for r in _listed(home, "--outcome", "partial")] == ["partial"]
    assert [r["target"] for r in _listed(home, "--doc", "DOC-7")] == [str(document)]
    assert _listed(home, "--doc", "DOC-8") == []
    assert len(_listed(home, "--target", str(tmp_path / "good.txt"))) == 1
    assert len(_listed(home, "--target", f"{tmp_path}/*.txt")) == 3
    since, until = around_today()
    assert len(_listed(home, "--since", since, "--until", until)) == 3
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert _listed(home, "--since", tomorrow) == []
    assert _listed(home, "--until", "2020-01-01") == []
    assert _listed(home, "--serial", "no-such-serial") == []

    # The index is a cache: removed, it is rebuilt from the files; a file removed leaves it.
    (home / "certificates" / "index.sqlite").unlink()
    assert len(_listed(home)) == 3
    Path(partial).unlink()
    assert [r["outcome"] for r in _listed(home)] == ["success", "success"]

    text = run_cli("cert", "list", "--csv", home=home).out
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["certificate_id"] == Path(good).name.removesuffix(".cert.json")
    bad = run_cli("cert", "list", "--since", "yesterday", home=home)
    assert bad.code == 2 and "--since" in bad.err


def test_report_rows_and_totals(tmp_path: Path, mixed_home: tuple[Path, str, str]) -> None:
    home, good, partial = mixed_home
    since, until = around_today()
    period = ("--since", since, "--until", until)
    data = json.loads(run_cli("report", *period, "--json", home=home).out)
    assert data["totals"] == {
        "certificates": 2,
        "by_outcome": {"success": 1, "partial": 1, "failed": 0, "interrupted": 0},
        "subjects": 2,
        "bytes": 2 * 262_144,
        "unverified": 0,
    }
    rows = data["rows"]
    assert [r["certificate_id"] + ".cert.json" for r in rows] == [
        Path(good).name,
        Path(partial).name,
    ]
    assert [r["outcome"] for r in rows] == ["success", "partial"]
    assert {r["method"] for r in rows} == {"clear"}
    assert [r["verification"] for r in rows] == ["nist passed", "none"]

    text = run_cli("report", *period, home=home)
    assert text.code == 0, text
    assert "total: 2 destructions (success 1, partial 1, failed 0, interrupted 0)" in text.out
    as_csv = list(csv.DictReader(io.StringIO(run_cli("report", *period, "--csv", home=home).out)))
    assert [r["outcome"] for r in as_csv] == ["success", "partial"]
    empty = json.loads(run_cli("report", "--since", "2020-01-01", "--until", "2020-12-31",
                               "--json", home=home).out)  # fmt: skip
    assert empty["rows"] == [] and empty["totals"]["certificates"] == 0
    backwards = run_cli("report", "--since", since, "--until", "2020-01-01", home=home)
    assert backwards.code == 2 and "before --since" in backwards.err

    pdftotext = need_tool("pdftotext")
    pdf = tmp_path / "report.pdf"
    assert run_cli("report", *period, "--pdf", pdf, home=home).code == 0
    printed = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "page 1 of 1" in printed and "Total: 2 destructions" in printed
    for row in rows:  # every row whole: its id, and its outcome beside its target
        assert row["certificate_id"] in printed
    assert "success" in printed and "partial" in printed


def test_config_show_names_each_source(cli_home: Path) -> None:
    (cli_home / "config.toml").write_text('[station]\nlocation = "Room 4"\n', encoding="utf-8")
    text = run_cli("config", "show", home=cli_home)
    assert text.code == 0, text
    assert f"location             'Room 4'  ({cli_home / 'config.toml'} [station])" in text.out
    data = json.loads(run_cli("config", "show", "--json", home=cli_home).out)
    assert data["home"] == {"path": str(cli_home), "source": "EXPUNGE_HOME"}
    assert data["station"]["operator"]["source"] == "login name"
    (cli_home / "config.toml").write_text("[station]\nphone = 12\n", encoding="utf-8")
    bad = run_cli("config", "show", home=cli_home)
    assert bad.code == 2 and "[station] phone must be a string" in bad.err
