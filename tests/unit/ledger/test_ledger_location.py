"""Which ledger a station uses (``--ledger`` / EXPUNGE_LEDGER_URL over ``[ledger] url``
over ``<home>/ledger.db``), and URLs shown without their password."""

from __future__ import annotations

from pathlib import Path

import pytest

from expunge.core.config import Home, ledger_location, load_settings
from expunge.core.errors import UsageError
from expunge.ledger.postgres.urls import display_url, is_url

URL = "postgresql://station@db.example/expunge"


def test_the_given_url_wins_over_the_config_which_wins_over_the_file(tmp_path: Path) -> None:
    home = Home(tmp_path)
    assert ledger_location(home) == str(tmp_path / "ledger.db")
    (tmp_path / "config.toml").write_text(f'[station]\nhost = "a"\n\n[ledger]\nurl = "{URL}"\n')
    assert ledger_location(home) == URL
    assert load_settings(home, {}).host == "a"  # [ledger] is a known table
    assert ledger_location(Home(tmp_path, "postgres://other/db")) == "postgres://other/db"


@pytest.mark.parametrize(
    "table", ["[ledger]\nurl = 5\n", '[ledger]\nurl = ""\n', f'[ledger]\nuri = "{URL}"\n']
)
def test_a_bad_ledger_table_is_refused(tmp_path: Path, table: str) -> None:
    (tmp_path / "config.toml").write_text(table)
    with pytest.raises(UsageError, match=r"\[ledger\]"):
        ledger_location(Home(tmp_path))


def test_urls_are_shown_without_passwords() -> None:
    assert is_url(URL) and is_url("postgres://h/d") and not is_url("/var/lib/ledger.db")
    assert display_url("postgresql://st:s3cret@h:5433/db") == "postgresql://st@h:5433/db"
    shown = display_url("postgresql://h/db?password=s3cret&sslmode=require")
    assert "s3cret" not in shown and "sslmode=require" in shown
