"""A station whose shared ledger is down: it cannot tell whether a target is registered,
so whatever would consult the ledger first refuses before writing, with one line naming
the ledger (exit 4); with the server back, the same command goes through. A drive wipe
refuses too, unless its record may be queued (--record-later)."""

from __future__ import annotations

from pathlib import Path

import pytest

from expunge.ledger.postgres.setup import setup
from tests.support import needs_root, run_cli
from tests.support.drives import Loops
from tests.support.fleet import wipe_drive
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


@needs_root
def test_a_drive_is_wiped_while_the_ledger_is_down_only_to_be_recorded_later(
    tmp_path: Path, cli_home: Path, loops: Loops
) -> None:
    with own_cluster() as cluster:
        setup(cluster.url)
        image = tmp_path / "stick.img"
        image.write_bytes(b"\x5a" * (8 << 20))
        node = loops.attach(image)
        cluster.stop()
        refused = wipe_drive(node, cli_home, "--ledger", cluster.url)
        assert refused.code == 4, refused.err
        assert "--record-later" in refused.err
        assert image.read_bytes() == b"\x5a" * (8 << 20)
        wipe = wipe_drive(node, cli_home, "--ledger", cluster.url, "--record-later")
        assert wipe.code == 0, wipe.err
        assert wipe.out.startswith("wiped: ") and "the record is queued in" in wipe.out
        (certificate,) = (cli_home / "certificates").glob("*.cert.json")
        verified = run_cli("cert", "verify", certificate, home=cli_home)
        assert verified.code == 0, verified.err
        assert b"\x5a" * 4096 not in image.read_bytes()
        cluster.start()
        synced = run_cli("ledger", "sync", "--ledger", cluster.url, home=cli_home)
        assert synced.code == 0, synced.err
        assert "destroyed no registered document" in synced.out
        assert not list((cli_home / "outbox").glob("*.json"))
