"""A sweep of many expired documents (destroyed several at a time): one certificate and
one ``destroy`` event per document, reported in order; interrupted, nothing is left half
recorded and the next sweep finishes the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from expunge.certificates.model import Certificate
from expunge.certificates.storage import read_envelope
from expunge.certificates.subjects import FileSubject
from expunge.ledger.events import Destroy
from expunge.ledger.store import SQLiteLedgerStore
from tests.support import run_cli
from tests.support.records import audit_json, problems


def _expired_tree(home: Path, root: Path, count: int) -> list[tuple[str, str]]:
    """``count`` 4 KiB documents in nested folders, registered in one call with their
    retention past; ``(doc_id, path)`` in registration order."""
    for n in range(count):
        folder = root / f"d{n % 7}" / f"e{n % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{n:04d}.pdf").write_bytes(os.urandom(4096))
    result = run_cli(
        "ledger", "register", "-r", root, "--classification", "confidential",
        "--retain-until", "2027-01-01", "--json", home=home,
    )  # fmt: skip
    assert result.code == 0, result.err
    return [(r["doc_id"], r["path"]) for r in json.loads(result.out)["registered"]]


def _destroy_events(home: Path) -> Counter[str]:
    with SQLiteLedgerStore(home / "ledger.db", create=False) as store:
        return Counter(str(e.event.doc_id) for e in store.entries() if isinstance(e.event, Destroy))


def test_a_sweep_of_many_documents_certifies_and_records_each_once(
    cli_home: Path, tmp_path: Path
) -> None:
    docs = _expired_tree(cli_home, tmp_path / "docs", 120)
    result = run_cli("sweep", "--now", "2028-01-01T00:00:00Z", "--json", home=cli_home)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["summary"] == {"destroyed": 120, "would-destroy": 0, "skipped": 0, "failed": 0}
    items = report["items"]
    assert [(i["target"], i["paths"]) for i in items] == [(d, [p]) for d, p in docs]  # in order
    assert not [p for _, p in docs if os.path.lexists(p)]
    assert _destroy_events(cli_home) == Counter(d for d, _ in docs)

    certificates = {i["certificate"] for i in items}
    assert len(certificates) == 120
    for item in items:
        (record,) = Certificate.from_json(read_envelope(Path(item["certificate"])).payload).subjects
        assert isinstance(record.subject, FileSubject)
        assert (record.subject.document_id, record.subject.path) == (
            item["target"],
            item["paths"][0],
        )
    audit = audit_json(cli_home)
    assert problems(audit) == [] and audit["destroy_events"] == 120


def test_an_interrupted_sweep_of_many_leaves_each_document_whole_and_the_next_finishes(
    cli_home: Path, tmp_path: Path
) -> None:
    docs = _expired_tree(cli_home, tmp_path / "docs", 80)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
    sweep = subprocess.Popen(
        [sys.executable, "-m", "expunge", "sweep", "--now", "2028-01-01", "--json"],
        env={**env, "EXPUNGE_HOME": str(cli_home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        certs, deadline = cli_home / "certificates", time.monotonic() + 120
        while len(list(certs.glob("*.cert.json")) if certs.is_dir() else []) < 5:
            assert sweep.poll() is None, "the sweep ended before it could be interrupted"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        sweep.send_signal(signal.SIGINT)
        out, err = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait()
    assert "Traceback" not in err
    first = json.loads(out)
    destroyed = [i["target"] for i in first["items"] if i["status"] == "destroyed"]
    assert 0 < len(destroyed) < 80 and first["interrupted"]
    # Each document reported destroyed has its one event; none has two.
    events = _destroy_events(cli_home)
    assert set(destroyed) <= set(events) and max(events.values()) == 1

    result = run_cli("sweep", "--now", "2028-01-01", home=cli_home)
    assert result.code == 0, result.err
    assert _destroy_events(cli_home) == Counter(d for d, _ in docs), (out, result.err)
    assert not [p for _, p in docs if os.path.lexists(p)]
    assert problems(audit_json(cli_home)) == []
