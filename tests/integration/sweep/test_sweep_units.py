"""The sweep's systemd units: hardened as systemd-analyze judges them, valid, written on
request without replacing an operator's own."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import run_cli

CONTRIB = Path(__file__).parents[3] / "contrib" / "systemd"
SERVICE = "expunge-sweep.service"
TIMER = "expunge-sweep.timer"


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed (package systemd; .ci/run installs it)")
    return found


def exposure(unit: Path) -> float:
    """The overall exposure score ``systemd-analyze security --offline=yes`` gives."""
    check = subprocess.run(
        [_analyze(), "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", check.stdout)
    assert found, check.stdout + check.stderr
    return float(found.group(1))


def write_units(home: Path, folder: Path, *extra: str) -> tuple[int, str, str]:
    result = run_cli("sweep", "--write-units", folder, *extra, home=home)
    return result.code, result.out, result.err


def test_written_units_are_hardened_and_valid(cli_home: Path, tmp_path: Path) -> None:
    root = tmp_path / "scans"
    root.mkdir()
    (cli_home / "policy.toml").write_text(
        f'[[paths]]\nroot = "{root}"\nglob = "*"\nmax_age = "1d"\nclassification = "internal"\n'
    )
    folder = tmp_path / "units"
    folder.mkdir()
    code, out, err = write_units(cli_home, folder)
    assert code == 0, err
    assert out.splitlines()[:2] == [f"wrote {folder / SERVICE}", f"wrote {folder / TIMER}"]
    service = (folder / SERVICE).read_text()
    # What the sweep needs survives the hardening.
    assert f"ReadWritePaths=-{cli_home} -{root}\n" in service
    assert "CAP_LEASE" in service and "RestrictAddressFamilies=AF_UNIX\n" in service
    assert "PrivateNetwork=yes" in service and "IPAddressDeny=any" in service
    assert (folder / SERVICE).stat().st_mode & 0o777 == 0o644
    score = exposure(folder / SERVICE)
    assert score <= 2.0, f"exposure {score}"
    check = subprocess.run(
        [_analyze(), "verify", str(folder / SERVICE), str(folder / TIMER)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr


def test_shipped_unit_scores_safe() -> None:
    score = exposure(CONTRIB / SERVICE)
    assert score <= 2.0, f"exposure {score}"


def test_existing_units_are_kept_unless_forced(cli_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "units"
    folder.mkdir()
    (folder / TIMER).write_text("# the operator's own timer\n")
    code, out, err = write_units(cli_home, folder)
    assert code == 3
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"expunge: {folder / TIMER}: already exists; nothing was written")
    assert "--force" in line
    assert not (folder / SERVICE).exists()
    assert (folder / TIMER).read_text() == "# the operator's own timer\n"

    code, out, err = write_units(cli_home, folder, "--force")
    assert code == 0, err
    assert "OnCalendar=daily" in (folder / TIMER).read_text()
    assert f"wrote {folder / SERVICE}" in out.splitlines()


def test_missing_folder_and_both_outputs_are_one_line(cli_home: Path, tmp_path: Path) -> None:
    code, _, err = write_units(cli_home, tmp_path / "absent")
    assert code == 4
    assert err.splitlines() == [
        f"expunge: {tmp_path / 'absent'}: is not a folder (or does not exist); "
        "create it, or name the folder the units belong in"
    ]
    code, _, err = write_units(cli_home, tmp_path, "--print-units")
    assert code == 2
    assert len(err.splitlines()) == 1 and "choose one" in err


def test_postgres_ledger_keeps_the_network(cli_home: Path, tmp_path: Path) -> None:
    (cli_home / "config.toml").write_text('[ledger]\nurl = "postgresql://ledger.example/x"\n')
    result = run_cli("sweep", "--print-units", home=cli_home)
    assert result.code == 0, result.err
    assert "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n" in result.out
    assert "PrivateNetwork" not in result.out and "IPAddressDeny" not in result.out
    assert "Wants=network-online.target" in result.out


def test_ledger_url_only_on_the_command_line_is_refused(cli_home: Path) -> None:
    result = run_cli(
        "sweep", "--print-units", "--ledger", "postgresql://u:secret@db/x", home=cli_home
    )
    assert result.code == 2
    (line,) = result.err.splitlines()
    assert line.startswith("expunge: postgresql://u@db/x: the unit's sweep reads its ledger")
    assert "secret" not in result.err and result.out == ""
