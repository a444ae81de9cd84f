"""A fleet on one shared ledger: several stations registering, copying and destroying at
once while another sweeps, a copy made at one station closed by a wipe at another, and an
auditor who has nothing but the database and the stations' public keys."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from expunge.ledger.store import open_store
from tests.support import needs_root, run_cli
from tests.support.drives import Loops
from tests.support.drivewipe import token
from tests.support.fleet import wipe_drive
from tests.support.json_output import report_json
from tests.support.records import make_document, ok

pytest.importorskip("psycopg")

CHILD = Path(__file__).with_name("fleet_station.py")
DOCS = 200


def _home(root: Path, name: str, url: str) -> Path:
    home = root / name
    home.mkdir()
    (home / "config.toml").write_text(
        f'[station]\nhost = "{name}"\noperator = "op-{name}"\n\n[ledger]\nurl = "{url}"\n'
    )
    return home


def _docs(home: Path) -> Path:
    """Where a station's documents live (outside its home: expunge never destroys that)."""
    return home.with_name(f"{home.name}-docs")


def _station(home: Path, count: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(home), str(_docs(home)), str(count), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _expunge(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "expunge", *args, "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _finish(processes: list[subprocess.Popen[str]]) -> list[str]:
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        outputs.append(out)
    return outputs


def _trust(root: Path, homes: list[Path]) -> Path:
    trust = root / "trust"
    trust.mkdir()
    for home in homes:
        shutil.copy(home / "station.pub", trust / f"{home.name}.pub")
    return trust


def test_three_stations_and_a_sweep_share_one_ledger(tmp_path: Path, pg_ledger: str) -> None:
    stations = [_home(tmp_path, name, pg_ledger) for name in ("alpha", "bravo", "charlie")]
    sweeper = _home(tmp_path, "delta", pg_ledger)
    # The sweeper's own documents are past their retention (registered a day late).
    _finish([_station(sweeper, 20, "-1")])
    registering = [_station(home, DOCS) for home in stations]
    sweep = _expunge(sweeper, "sweep")
    acknowledged = [line.split() for out in _finish(registering) for line in out.splitlines()]
    shreds = [_expunge(home, "shred", "-r", str(_docs(home) / "destroy")) for home in stations]
    _finish([*shreds, sweep])

    with open_store(pg_ledger) as store:
        stored = {raw.seq: raw.hash.hex() for raw in store.raw_entries()}
        entries = list(store.entries())
    assert all(stored[int(seq)] == digest for seq, digest, _ in acknowledged)
    assert sorted(stored) == list(range(1, len(stored) + 1))
    registered = [e.event.doc_id for e in entries if e.event.kind == "register"]
    assert len(registered) == len(set(registered)) == 3 * DOCS + 20

    auditor = tmp_path / "auditor"
    audit = run_cli(
        "audit",
        "--ledger",
        pg_ledger,
        "--trust",
        _trust(tmp_path, [*stations, sweeper]),
        home=auditor,
    )
    assert audit.code == 0, audit.out + audit.err
    assert audit.out.endswith("audit: OK\n")
    lines = audit.out.splitlines()
    for home in [*stations, sweeper]:
        (line,) = [x for x in lines if x.startswith(f"station {home.name} (key ")]
        signed = sum(1 for e in entries if e.station is not None and e.station.host == home.name)
        assert line.endswith(f": {signed} entries")
    listed = report_json(
        ok(run_cli("ledger", "list", "--json", "--ledger", pg_ledger, home=auditor)), "ledger-list"
    )["items"]
    destroyed = {d["doc_id"] for d in listed if d["status"] == "destroyed"}
    assert len(destroyed) == 3 * DOCS // 2 + 20
    for home in stations:
        assert not (_docs(home) / "destroy").exists()
        assert len(list((_docs(home) / "keep").iterdir())) == DOCS // 2


def test_a_path_is_a_file_of_the_station_that_recorded_it(tmp_path: Path, pg_ledger: str) -> None:
    alpha, bravo = (_home(tmp_path, name, pg_ledger) for name in ("alpha", "bravo"))
    shared = tmp_path / "same-path.txt"
    make_document(shared)
    registered = ok(
        run_cli("ledger", "register", shared, "--classification", "secret", "--json", home=alpha)
    )
    doc = json.loads(registered.out)["doc_id"]
    # Bravo has a file at the same path (the same content, even): it is not alpha's file.
    refused = run_cli("destroy", doc, "--yes", home=bravo)
    assert refused.code != 0
    assert shared.exists()
    shown = json.loads(ok(run_cli("ledger", "show", doc, "--json", home=bravo)).out)
    assert [loc["host"] for loc in shown["locations"]] == ["alpha"]
    assert shown["status"] == "registered"
    ok(run_cli("destroy", doc, "--yes", home=alpha))
    assert not shared.exists()


@needs_root
def test_a_copy_made_at_one_station_is_closed_by_a_wipe_at_another(
    tmp_path: Path, pg_ledger: str, loops: Loops
) -> None:
    alpha, bravo = (_home(tmp_path, name, pg_ledger) for name in ("alpha", "bravo"))
    original = tmp_path / "payroll.xlsx"
    make_document(original)
    registered = ok(
        run_cli("ledger", "register", original, "--classification", "secret", "--json", home=alpha)
    )
    doc = json.loads(registered.out)["doc_id"]
    image = tmp_path / "stick.img"
    with open(image, "wb") as f:
        f.truncate(16 << 20)
    node = loops.attach(image)
    ok(run_cli("ledger", "copy", doc, "--medium", token(node), home=alpha))

    wipe = wipe_drive(node, bravo)
    assert wipe.code == 0, wipe.err
    shown = json.loads(ok(run_cli("ledger", "show", doc, "--json", home=alpha)).out)
    (copy,) = [loc for loc in shown["locations"] if loc["kind"] == "copy"]
    assert copy["status"] == "destroyed" and copy["host"] == "alpha"
    destroy_entry = shown["entries"][-1]
    assert destroy_entry["station"]["host"] == "bravo"
    assert shown["status"] == "registered"  # the original at alpha is still there
    trust = _trust(tmp_path, [alpha, bravo])
    audit = run_cli("audit", "--ledger", pg_ledger, "--trust", trust, home=tmp_path / "auditor")
    assert audit.code == 0, audit.out + audit.err
