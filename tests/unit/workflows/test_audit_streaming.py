"""The audit streams the chain: destroy events wait only until their certificates'
verdicts come back, are checked in seq order however late a verdict arrives, and
tampering deep in a generated ledger is still found."""

from __future__ import annotations

import importlib.util
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from expunge.commands.audit import trust_store
from expunge.core.config import Home
from expunge.ledger.events import Destroy
from expunge.workflows.audit import pending as pending_module
from expunge.workflows.audit.pending import PendingDestroys
from expunge.workflows.audit.run import audit_station
from expunge.workflows.audit.verdicts import Verdict

BENCH = Path(__file__).parents[3] / "benchmarks" / "bench_audit.py"
ENTRIES = 8000  # 2,000 documents, each with its own certificate
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_audit", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Home:
    home = Home(tmp_path_factory.mktemp("audit-stream") / "home").ensure()
    _bench().build(home, ENTRIES)
    return home


def _audit(home: Home, workers: int = 2) -> Any:
    return audit_station(home, trust_store(home, ()), now=NOW, workers=workers)


def test_a_generated_ledger_is_audited_without_holding_its_destroy_events(
    generated: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    most = 0
    add = PendingDestroys.add

    def counting(self: PendingDestroys, *args: Any, **kwargs: Any) -> None:
        nonlocal most
        add(self, *args, **kwargs)
        most = max(most, len(self.waiting) + len(self.verdicts))

    monkeypatch.setattr(PendingDestroys, "add", counting)
    report = _audit(generated)
    assert report.problems == ()
    assert report.destroy_events == report.certificates_verified == ENTRIES // 4
    # What is in flight to two workers (batches of 64), not the 2,000 events walked.
    assert 0 < most <= 512


def test_the_audit_in_one_process_finds_the_same(generated: Home) -> None:
    one, forked = _audit(generated, workers=1), _audit(generated)
    assert one.to_dict() == forked.to_dict()


def test_an_entry_altered_deep_in_the_ledger_is_found(generated: Home, tmp_path: Path) -> None:
    copy = Home(tmp_path / "home").ensure()
    for name in ("station.key", "station.pub", "ledger-head"):
        source = generated.root / name
        if source.exists():
            (copy.root / name).write_bytes(source.read_bytes())
    with sqlite3.connect(generated.ledger_path) as src, sqlite3.connect(copy.ledger_path) as dst:
        src.backup(dst)
    seq = ENTRIES - 7  # a destroy event of the last batch
    with sqlite3.connect(copy.ledger_path) as db:
        (record,) = db.execute("SELECT record FROM entries WHERE seq = ?", (seq,)).fetchone()
        assert '"type":"destroy"' in record
        db.execute(
            "UPDATE entries SET record = ? WHERE seq = ?",
            (record.replace('"method":"clear"', '"method":"zero"'), seq),
        )
    report = _audit(copy)
    assert ("hash-mismatch", seq) in {(p.kind, p.seq) for p in report.problems}


class _Run:
    def __init__(self) -> None:
        self.checked: list[tuple[int, Verdict]] = []

    def destroy_event(
        self, seq: int, origin: Any, event: Any, verdict: Verdict, holding: Any
    ) -> None:
        self.checked.append((seq, verdict))


def _destroy(doc: str) -> Destroy:
    return Destroy(doc, "clear", "C", "ab" * 32, {"payload": "x"}, paths=(f"/d/{doc}",))


def test_a_late_verdict_holds_back_later_events_and_order_is_kept() -> None:
    run = _Run()
    waiting = PendingDestroys(run)  # type: ignore[arg-type]
    keys = [(seq, bytes([seq]) * 32) for seq in (3, 7, 9)]
    for key, doc in zip(keys, ("DOC-A", "DOC-B", "DOC-C"), strict=True):
        waiting.add(key, None, _destroy(doc), None)
    late, second, third = ((None, f"v{n}") for n in range(3))
    waiting.arrive([(keys[2], third), (keys[1], second)])
    assert run.checked == []  # seq 3 has no verdict yet
    waiting.arrive([(keys[0], late)])
    assert run.checked == [(3, late), (7, second), (9, third)]
    assert waiting.waiting == {} and waiting.verdicts == {}


def test_a_verdict_for_another_record_at_the_same_seq_is_not_used() -> None:
    run = _Run()
    waiting = PendingDestroys(run)  # type: ignore[arg-type]
    walked = (5, b"\x01" * 32)
    waiting.add(walked, None, _destroy("DOC-A"), None)
    waiting.arrive([((5, b"\x02" * 32), (None, "the other record's"))])
    assert run.checked == []
    waiting.finish()
    assert run.checked == [(5, pending_module._MALFORMED)]
