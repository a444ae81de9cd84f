"""``expunge man``: one manual page per command, each naming every option (issue [8/8])."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from expunge.cli import loaded_cli
from expunge.commands.man import render_page


def _expunge(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "expunge", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        cwd=cwd,
    )


def _commands(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
    """Every visible command of the loaded tree, by its command path."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            if not sub.hidden:
                yield from _commands(sub, f"{path} {name}")


def _plain(roff: str) -> str:
    return roff.replace("\\-", "-")


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("man") / "man1"
    proc = _expunge("man", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"manual pages to {out}" in proc.stdout
    return out


def test_one_page_per_command(pages: Path) -> None:
    expected = {f"{path.replace(' ', '-')}.1" for path, _ in _commands(loaded_cli(), "expunge")}
    assert {"expunge.1", "expunge-shred.1", "expunge-drive-wipe.1", "expunge-man.1"} <= expected
    assert {p.name for p in pages.iterdir()} == expected


def test_each_page_names_every_option_of_its_command(pages: Path) -> None:
    for path, command in _commands(loaded_cli(), "expunge"):
        text = _plain((pages / f"{path.replace(' ', '-')}.1").read_text(encoding="utf-8"))
        assert f".B {path}\n" in text
        options = text.split(".SH OPTIONS", 1)[1]
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                for opt in (*param.opts, *param.secondary_opts):
                    assert f"\\fB{opt}\\fR" in options, f"{path}: {opt} missing"
            elif isinstance(param, click.Option):
                assert f"\\fB{param.opts[-1]}\\fR" not in options, f"{path}: hidden option shown"


def test_a_group_page_points_to_its_commands_pages(pages: Path) -> None:
    text = _plain((pages / "expunge-ledger.1").read_text(encoding="utf-8"))
    assert "\\fBexpunge-ledger-show\\fR(1)" in text
    assert all((pages / f"expunge-ledger-{name}.1").exists() for name in ("show", "copy"))


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_groff_renders_every_page_without_a_warning(pages: Path) -> None:
    for page in sorted(pages.iterdir()):
        proc = subprocess.run(
            ["groff", "-man", "-ww", "-z", str(page)], capture_output=True, text=True, timeout=30
        )
        assert proc.returncode == 0 and proc.stderr == "", f"{page.name}: {proc.stderr}"
    shown = subprocess.run(
        ["groff", "-man", "-Tutf8", "-P", "-cbou", str(pages / "expunge-shred.1")],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    ).stdout
    words = " ".join(shown.split())  # groff justifies lines with extra spaces
    assert "expunge shred [OPTIONS] PATHS..." in words and "-m, --method TEXT" in words


def test_without_output_the_named_page_is_printed() -> None:
    proc = _expunge("man", "drive", "wipe")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('.TH "EXPUNGE\\-DRIVE\\-WIPE" "1"')
    assert "\\fB\\-\\-expect\\fR TOKEN" in proc.stdout


def test_an_unknown_command_is_one_line_and_exit_2() -> None:
    proc = _expunge("man", "drive", "nope")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "expunge: nope: no command 'expunge drive nope'; see 'expunge drive --help' for its "
        "commands"
    ]


def test_help_text_cannot_inject_roff_requests() -> None:
    @click.command("odd")
    @click.option("--path", help="A folder like C:\\temp; .SH is text here.")
    def odd(path: str | None) -> None:
        """Do odd things.

        'quoted' at the start of a line, and
        .TH at the start of another: both are text, not requests.
        """

    roff = render_page(click.Context(odd, info_name="odd"))
    assert "\n'" not in roff and "\n.TH" not in roff.split("\n", 1)[1]
    assert "C:\\etemp" in roff
    if shutil.which("groff"):
        shown = subprocess.run(
            ["groff", "-man", "-Tutf8", "-P", "-cbou", "-ww"],
            input=roff,
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )
        assert shown.stderr == ""
        words = " ".join(shown.stdout.split())  # groff justifies lines with extra spaces
        assert "'quoted' at the start of a line, and .TH at the start of another" in words
        assert "C:\\temp; .SH is text here." in words
