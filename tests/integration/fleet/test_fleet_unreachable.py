"""A station whose shared ledger is down: it cannot tell whether a target is registered,
so whatever would consult the ledger refuses before writing, with one line naming the
ledger (exit 4); with the server back, the same command goes through."""

from __future__ import annotations

from pathlib import Path

import pytest

from expunge.ledger.postgres.setup import setup
from tests.support import run_cli
from tests.support.postgres import own_cluster
from tests.support.records import make_document, ok

pytest.importorskip("psycopg")


def test_an_unreachable_ledger_refuses_before_anything_is_written(
    tmp_path: Path, cli_home: Path
) -> None:
    with own_cluster() as cluster:  # stopped and started by this test: our own
        setup(cluster.url)
        target = tmp_path / "report.txt"
        content = make_document(target)
        cluster.stop()
        for args in (
            ("shred", target),
            ("ledger", "register", target, "--classification", "secret"),
            ("ledger", "list"),
        ):
            refused = run_cli(*args, "--ledger", cluster.url, home=cli_home)
            assert refused.code == 4, refused.err
            (line,) = refused.err.splitlines()
            assert "the ledger is unreachable" in line and f":{cluster.port}/" in line
            assert target.read_bytes() == content
        assert not (cli_home / "certificates").exists()
        cluster.start()
        ok(run_cli("shred", target, "--ledger", cluster.url, home=cli_home))
        assert not target.exists()
