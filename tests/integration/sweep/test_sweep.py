"""``expunge sweep``: time travel, path rules under roots, dry runs, the lock, resuming."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from expunge.core.config import Home, StationSettings
from expunge.ledger.events import Destroy
from expunge.ledger.store import SQLiteLedgerStore
from expunge.workflows import certify, records
from tests.support import files_started, run_cli, run_state_left
from tests.support.json_output import validate_output

DAY = 86400


def write(path: Path, size: int = 64 << 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(*folders: Path) -> dict[str, str]:
    """Every file below ``folders`` (symlinks not followed) -> its content hash."""
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink():
                found[str(path)] = "-> " + os.readlink(path)
            elif path.is_file():
                found[str(path)] = digest(path)
    return found


def register(home: Path, path: Path, level: str = "confidential", until: str | None = None) -> str:
    args = ["ledger", "register", path, "--classification", level, "--json"]
    if until:
        args += ["--retain-until", until]
    result = run_cli(*args, home=home)
    assert result.code == 0, result.err
    return str(json.loads(result.out)["doc_id"])


def destroy_events(home: Path) -> Counter[str]:
    with SQLiteLedgerStore(home / "ledger.db", create=False) as store:
        return Counter(
            e.event.doc_id
            for e in store.entries()
            if isinstance(e.event, Destroy) and e.event.doc_id
        )


def sweep(home: Path, *args: str | os.PathLike[str]) -> tuple[int, str, str]:
    result = run_cli("sweep", *args, home=home)
    return result.code, result.out, result.err


def test_time_travel_destroys_expired_documents_only(cli_home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    old1, old2 = write(data / "old1.pdf"), write(data / "old2.pdf", 300_000)
    young, loose = write(data / "young.pdf"), write(data / "unregistered.pdf")
    expired = [
        register(cli_home, old1, until="2027-01-01"),
        register(cli_home, old2, "secret", "2027-06-30"),
    ]
    kept = register(cli_home, young, until="2030-01-01")
    before = snapshot(data)

    code, out, err = sweep(cli_home, "--now", "2028-01-01T00:00:00Z", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["summary"] == {"destroyed": 2, "would-destroy": 0, "skipped": 0, "failed": 0}
    assert not old1.exists() and not old2.exists()
    assert {p: h for p, h in snapshot(data).items()} == {
        str(young): before[str(young)],
        str(loose): before[str(loose)],
    }
    # One log line per document on stderr, one report in the home.
    assert sum(1 for line in err.splitlines() if line.startswith("expunge sweep: destroyed")) == 2
    written = json.loads(Path(report["report"]).read_text())
    assert written["summary"]["destroyed"] == 2
    certs = [item["certificate"] for item in report["items"]]
    check = run_cli("cert", "verify", *certs, home=cli_home)
    assert check.code == 0, check.err
    assert destroy_events(cli_home) == Counter(expired)
    assert kept not in destroy_events(cli_home)

    # Idempotent: nothing is due any more, nothing destroyed twice.
    code, out, err = sweep(cli_home, "--now", "2028-01-01T00:00:00Z", "--json")
    assert code == 0, err
    assert json.loads(out)["items"] == []
    assert destroy_events(cli_home) == Counter(expired)
    audit = run_cli("audit", home=cli_home)
    assert audit.code == 0, audit.out + audit.err


def test_dry_run_changes_nothing(cli_home: Path, tmp_path: Path) -> None:
    data, root = tmp_path / "data", tmp_path / "root"
    doc = write(data / "doc.txt")
    register(cli_home, doc, until="2027-01-01")
    stale = write(root / "stale.log")
    os.utime(stale, (time.time() - 90 * DAY,) * 2)
    policy = tmp_path / "policy.toml"
    policy.write_text(
        f'[[paths]]\nroot = "{root}"\nglob = "*.log"\nmax_age = "30d"\n'
        'classification = "internal"\n'
    )
    before = snapshot(data, root, cli_home)

    code, out, err = sweep(cli_home, "--policy", policy, "--dry-run", "--now", "2028-01-01")
    assert code == 0, err
    assert "would destroy 2" in out
    assert str(doc) in err and str(stale) in err
    assert snapshot(data, root, cli_home) == before


def test_retention_from_policy_counts_from_registration(cli_home: Path, tmp_path: Path) -> None:
    doc = write(tmp_path / "data" / "memo.txt")
    doc_id = register(cli_home, doc)  # no retain-until: the policy's retention applies
    (cli_home / "policy.toml").write_text('[retention]\nconfidential = "30d"\n')
    registered = datetime.now(UTC).timestamp()

    soon = datetime.fromtimestamp(registered + 29 * DAY, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out, err = sweep(cli_home, "--now", soon, "--json")
    assert code == 0, err
    assert json.loads(out)["items"] == [] and doc.exists()

    later = datetime.fromtimestamp(registered + 31 * DAY, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out, err = sweep(cli_home, "--now", later, "--json")
    assert code == 0, err
    assert [i["target"] for i in json.loads(out)["items"]] == [doc_id]
    assert not doc.exists()


def test_path_rules_by_age_never_leave_the_root(cli_home: Path, tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    old_logs = [write(root / "a.log"), write(root / "deep" / "er" / "b.log")]
    new_log = write(root / "fresh.log")
    old_other = write(root / "keep.txt")
    victim = write(outside / "victim.log")
    registered = write(root / "registered.log")
    (root / "link-dir").symlink_to(outside, target_is_directory=True)
    (root / "link-file.log").symlink_to(victim)
    ancient = time.time() - 400 * DAY
    for path in (*old_logs, old_other, victim, registered):
        os.utime(path, (ancient, ancient))
    doc_id = register(cli_home, registered, until="2099-01-01")
    (cli_home / "policy.toml").write_text(
        "# scans and logs\n"
        "[[paths]]\n"
        f'root = "{root}"\n'
        'glob = "**/*.log"\n'
        'max_age = "30d"\n'
        'classification = "internal"\n'
        'method = "zero"\n'
        'verify = "full"\n'
    )
    keep = snapshot(outside) | {str(p): digest(p) for p in (new_log, old_other, registered)}

    code, out, err = sweep(cli_home, "--json")
    assert code == 0, err
    items = json.loads(out)["items"]
    by_target = {item["target"]: item for item in items}
    assert {t for t, i in by_target.items() if i["status"] == "destroyed"} == {
        str(p) for p in old_logs
    }
    assert by_target[str(registered)]["status"] == "skipped"
    assert doc_id in by_target[str(registered)]["reason"]
    assert not any(p.exists() for p in old_logs)
    assert (root / "link-dir").is_symlink() and (root / "link-file.log").is_symlink()
    assert snapshot(outside) | {str(p): digest(p) for p in (new_log, old_other, registered)} == keep
    certs = [by_target[str(p)]["certificate"] for p in old_logs]
    assert len(set(certs)) == 2  # one certificate per file
    check = run_cli("cert", "verify", *certs, home=cli_home)
    assert check.code == 0, check.err
    assert "paths[1]" in by_target[str(old_logs[0])]["rule"]


def test_a_failure_does_not_stop_the_others(cli_home: Path, tmp_path: Path) -> None:
    changed, fine = write(tmp_path / "d" / "changed.txt"), write(tmp_path / "d" / "fine.txt")
    bad = register(cli_home, changed, until="2027-01-01")
    good = register(cli_home, fine, until="2027-01-01")
    changed.write_bytes(b"someone else's content now")

    code, out, err = sweep(cli_home, "--now", "2028-01-01", "--json")
    report = json.loads(out)
    status = {item["target"]: item["status"] for item in report["items"]}
    assert status == {bad: "failed", good: "destroyed"}
    assert code == report["exit_code"] != 0
    assert changed.read_bytes() == b"someone else's content now"
    # Under --json the failure is the last line of stderr, as one error object.
    error = validate_output(json.loads(err.strip().splitlines()[-1]), "error")
    assert (error["target"], error["error"], error["exit_code"]) == (
        "sweep",
        "1 item(s) failed",
        code,
    )


def test_a_second_sweep_refuses_while_one_runs(cli_home: Path, tmp_path: Path) -> None:
    doc = write(tmp_path / "d" / "doc.txt")
    register(cli_home, doc, until="2027-01-01")
    fd = os.open(cli_home / "sweep.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"4242\n")
        started = time.monotonic()
        code, _, err = sweep(cli_home, "--now", "2028-01-01")
        assert time.monotonic() - started < 10
    finally:
        os.close(fd)
    assert code == 8
    assert err.strip().splitlines() == [
        f"expunge: {cli_home / 'sweep.lock'}: another sweep is running (pid 4242); "
        "this sweep did nothing; the running one finishes the work"
    ]
    assert doc.exists()


def _station(home: Path) -> certify.Station:
    """The home's station, which signs the entries these tests append."""
    return certify.Station.open(Home(home), StationSettings(operator="test"), None)


def _register_many(home: Path, folder: Path, count: int) -> list[str]:
    ids = []
    with records.create_ledger(Home(home), _station(home)) as store:
        for n in range(count):
            path = write(folder / f"doc{n:02}.bin", (1 + n % 4) << 20)
            entry = records.register_document(
                store,
                records.read_content(str(path)),
                classification="confidential",
                policy=records.load_policy(Home(home)),
                title=None,
                custodian="test",
                doc_id=None,
                retain_until=datetime(2027, 1, 1, tzinfo=UTC),
                actor="test",
                now=datetime.now(UTC),
            )
            ids.append(str(entry.event.doc_id))
    return ids


def test_a_sweep_killed_mid_overwrite_is_resumed_by_the_next(
    cli_home: Path, tmp_path: Path
) -> None:
    # One document big enough to be caught in the middle of its overwrite.
    with records.create_ledger(Home(cli_home), _station(cli_home)) as store:
        path = write(tmp_path / "docs" / "big.bin", 512 << 20)
        entry = records.register_document(
            store,
            records.read_content(str(path)),
            classification="confidential",
            policy=records.load_policy(Home(cli_home)),
            title=None,
            custodian="test",
            doc_id=None,
            retain_until=datetime(2027, 1, 1, tzinfo=UTC),
            actor="test",
            now=datetime.now(UTC),
        )
    doc = str(entry.event.doc_id)
    env = dict(os.environ, EXPUNGE_HOME=str(cli_home))
    first = subprocess.Popen(
        [sys.executable, "-m", "expunge", "sweep", "--now", "2028-01-01"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not files_started(cli_home):
            if first.poll() is not None:
                pytest.skip("the sweep finished before it could be killed mid-overwrite")
            assert time.monotonic() < deadline
            time.sleep(0.001)
        time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait()
    if not path.exists() or sum(destroy_events(cli_home).values()):
        pytest.skip("the kill came after the overwrite had finished")

    code, _, err = sweep(cli_home, "--now", "2028-01-01")
    assert code == 0, err
    assert destroy_events(cli_home) == Counter([doc])
    assert not path.exists()
    assert run_state_left(cli_home) == [], "the finished wipe's journal and log are removed"
    (cert,) = (cli_home / "certificates").glob("*.cert.json")
    assert run_cli("cert", "verify", cert, home=cli_home).code == 0
    assert run_cli("audit", home=cli_home).code == 0


BAD_POLICIES = [
    ('[retention]\nconfidential = "365d"\n\n[retention_x]\n', 4, "unknown key 'retention_x'"),
    (
        '[retention]\nconfidential = "365d"\nsecret = "ten days"\n',
        3,
        "'ten days' is not a duration",
    ),
    (
        '[[paths]]\nroot = "/srv/x"\nglob = 5\nmax_age = "1d"\nclassification = "internal"\n',
        3,
        "glob must be a string",
    ),
    (
        '[[paths]]\nroot = "/srv/x"\nglob = "*"\nmax_age = "1d"\n\nclassification = "hush"\n',
        6,
        "unknown classification 'hush'",
    ),
    ('\n[retention]\nhush = "1d"\n', 3, "unknown classification 'hush'"),
    (
        '[[paths]]\nroot = "/srv/x"\nglob = "*"\nmax_age = "1d"\nclassification = "internal"\n'
        'colour = "red"\n',
        6,
        "unknown key 'colour'",
    ),
    ('[classification.secret]\nmin_verify = "full"\nmin_passes = 0\n', 3, "min_passes of secret"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_POLICIES)
def test_bad_policy_is_one_line_naming_the_line(
    cli_home: Path, tmp_path: Path, text: str, line: int, message: str
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(text)
    code, _, err = sweep(cli_home, "--policy", policy, "--dry-run")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"expunge: {policy}:{line}: "), lines[0]
    assert message in lines[0]
    assert "Traceback" not in err


def _units(text: str) -> dict[str, str]:
    parts = re.split(r"^# (expunge-sweep\.\w+)\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_printed_units_name_the_home_and_roots(cli_home: Path, tmp_path: Path) -> None:
    root = tmp_path / "scans"
    root.mkdir()
    (cli_home / "policy.toml").write_text(
        f'[[paths]]\nroot = "{root}"\nglob = "*"\nmax_age = "1d"\nclassification = "internal"\n'
    )
    code, out, err = sweep(cli_home, "--print-units")
    assert code == 0, err
    units = _units(out)
    service = units["expunge-sweep.service"]
    assert f"sweep --home {cli_home}\n" in service
    assert f"ReadWritePaths=-{cli_home} -{root}\n" in service
    assert "Type=oneshot" in service and "NoNewPrivileges=yes" in service
    assert "PrivateTmp=no" in service  # the home lives in /tmp here: a private one hides it
    assert "OnCalendar=daily" in units["expunge-sweep.timer"]
    analyze = "/usr/bin/systemd-analyze"
    if not os.access(analyze, os.X_OK):
        pytest.skip("systemd-analyze is not installed: the units were not verified")
    folder = tmp_path / "units"
    folder.mkdir()
    for name, text in units.items():
        (folder / name).write_text(text)
    check = subprocess.run(
        [analyze, "verify", *(str(folder / n) for n in units)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_contrib_units_match_the_generated_ones() -> None:
    from expunge.workflows import sweep as sweep_module

    generated = sweep_module.systemd_units(
        ["/usr/local/bin/expunge"], Home(Path("/var/lib/expunge")), sweep_module.SweepPolicy(None)
    )
    folder = Path(__file__).parents[3] / "contrib" / "systemd"
    for name, text in generated.items():
        shipped = (folder / name).read_text()
        body = "".join(line for line in shipped.splitlines(True) if not line.startswith("#"))
        assert body == text, name


def test_certificate_without_its_ledger_event_is_recorded_not_redone(
    cli_home: Path, tmp_path: Path
) -> None:
    """A sweep killed between signing a certificate and appending its event: the next
    sweep finds the certificate and records it; nothing is destroyed again."""
    doc = write(tmp_path / "d" / "doc.txt")
    doc_id = register(cli_home, doc, until="2027-01-01")
    saved = tmp_path / "ledger-before"
    saved.mkdir()
    # The ledger and the station's head record as they were: a sweep killed before its
    # append moved neither.
    for part in cli_home.glob("ledger*"):
        (saved / part.name).write_bytes(part.read_bytes())
    code, out, err = sweep(cli_home, "--now", "2028-01-01", "--json")
    assert code == 0, err
    (cert,) = [item["certificate"] for item in json.loads(out)["items"]]
    for part in cli_home.glob("ledger*"):
        part.unlink()
    for part in saved.iterdir():
        (cli_home / part.name).write_bytes(part.read_bytes())
    assert destroy_events(cli_home) == Counter()

    code, out, err = sweep(cli_home, "--now", "2028-01-01", "--json")
    assert code == 0, err
    (item,) = json.loads(out)["items"]
    assert (item["status"], item["certificate"]) == ("destroyed", cert)
    assert "interrupted sweep" in item["reason"]
    assert destroy_events(cli_home) == Counter([doc_id])
    assert len(list((cli_home / "certificates").glob("*.cert.json"))) == 1
    audit = run_cli("audit", home=cli_home)
    assert audit.code == 0, audit.out + audit.err


def test_a_folder_swapped_for_a_symlink_after_the_walk_is_not_followed(tmp_path: Path) -> None:
    from expunge.workflows import sweep as sweep_module

    root, outside = tmp_path / "root", tmp_path / "outside"
    inner = write(root / "sub" / "old.log")
    victim = write(outside / "old.log")
    for path in (inner, victim):
        os.utime(path, (time.time() - 90 * DAY,) * 2)
    rule = sweep_module.PathRule(1, str(root), "**/*.log", "30d", "internal")
    (match,) = sweep_module.walk_rule(rule, datetime.now(UTC))
    assert match.path == str(inner)
    assert sweep_module.changed_since_walk(match) is None
    (root / "sub").rename(root / "moved")
    (root / "sub").symlink_to(outside, target_is_directory=True)
    assert "folder was replaced" in str(sweep_module.changed_since_walk(match))
