"""``expunge man``: manual pages (roff) for expunge and every subcommand, from the commands.

Each page is rendered from what click knows of a command: its help, usage, options and
subcommands. The command tree is walked with click's own ``list_commands``/``get_command``,
which imports each command of the lazy top-level group, so every page is complete although
a normal run imports only the command it runs. (click-man renders similar pages, but names
the pages of nested commands wrongly, ``expunge ledger-copy(1)``, and passes help text to
roff unescaped; the renderer here is small enough to own.)
"""

from __future__ import annotations

import inspect
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import click

from expunge import __version__
from expunge.core.errors import UsageError

# A roff input line starting with either is a request, not text.
_CONTROL_LINE = re.compile(r"^(?=[.'])", re.MULTILINE)


def _escape(text: str) -> str:
    """Plain text as roff: backslashes shown, dashes as minus signs (so that options read
    in a page can be pasted into a shell), no line taken for a request."""
    return _CONTROL_LINE.sub(r"\\&", text.replace("\\", r"\e").replace("-", r"\-"))


def _paragraphs(help_text: str) -> str:
    """A command's help as roff paragraphs, with click's markers honoured: ``\\f`` ends what
    is shown, a ``\\b`` line only stops rewrapping."""
    shown = inspect.cleandoc(help_text).split("\f", 1)[0]
    lines = [line for line in shown.splitlines() if line.strip() != "\b"]
    return "\n".join(".PP" if not line.strip() else _escape(line) for line in lines)


def _option_names(names: str) -> str:
    """``-m, --method TEXT`` as ``\\fB\\-m\\fR, \\fB\\-\\-method\\fR TEXT``: the names bold."""
    words = []
    for word in names.split(" "):
        name, comma = (word[:-1], ",") if word.endswith(",") else (word, "")
        bold = name.startswith("-")
        words.append((rf"\fB{_escape(name)}\fR" if bold else _escape(name)) + comma)
    return " ".join(words)


def _subcommands(ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
    """The visible subcommands of ``ctx``'s command (none for a plain command), loaded."""
    group = ctx.command
    if not isinstance(group, click.Group):
        return
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is not None and not command.hidden:
            yield name, command


def _date() -> str:
    # SOURCE_DATE_EPOCH: the same pages from the same sources (reproducible builds).
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    return time.strftime("%Y-%m-%d", time.gmtime(int(epoch) if epoch.isdigit() else None))


def _ref(command_path: str) -> str:
    return rf"\fB{_escape(command_path.replace(' ', '-'))}\fR(1)"


def render_page(ctx: click.Context) -> str:
    """The manual page of ``ctx``'s command, as roff (``man -l`` reads it)."""
    command = ctx.command
    path = ctx.command_path
    title = _escape(path.replace(" ", "-").upper())
    lines = [
        f'.TH "{title}" "1" "{_date()}" "expunge {__version__}" "expunge manual"',
        ".SH NAME",
        rf"{_escape(path.replace(' ', '-'))} \- {_escape(command.get_short_help_str(limit=80))}",
        ".SH SYNOPSIS",
        f".B {_escape(path)}",
        _escape(" ".join(command.collect_usage_pieces(ctx))),
    ]
    if command.help:
        lines += [".SH DESCRIPTION", _paragraphs(command.help)]
    records = [
        param.get_help_record(ctx)
        for param in command.get_params(ctx)
        if isinstance(param, click.Option)
    ]
    # A hidden option has no help record, and no place in the manual either.
    shown = [record for record in records if record is not None]
    if shown:
        lines.append(".SH OPTIONS")
        for names, text in shown:
            lines += [".TP", _option_names(names), _escape(text) if text else ""]
    subcommands = list(_subcommands(ctx))
    if subcommands:
        lines.append(".SH COMMANDS")
        for name, sub in subcommands:
            lines += [
                ".TP",
                rf"\fB{_escape(name)}\fR",
                f"{_escape(sub.get_short_help_str(limit=80))} See {_ref(f'{path} {name}')}.",
            ]
    related = [c.command_path for c in _ancestors(ctx)]
    if related:
        lines += [".SH SEE ALSO", ", ".join(_ref(p) for p in related)]
    return "\n".join(line for line in lines if line) + "\n"


def _ancestors(ctx: click.Context) -> Iterator[click.Context]:
    parent = ctx.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def page_name(ctx: click.Context) -> str:
    """The file a command's page goes to: ``expunge-drive-wipe.1`` for ``expunge drive wipe``."""
    return ctx.command_path.replace(" ", "-") + ".1"


def walk(ctx: click.Context) -> Iterator[click.Context]:
    """``ctx`` and the context of every visible subcommand below it, depth first."""
    yield ctx
    for name, command in _subcommands(ctx):
        yield from walk(click.Context(command, info_name=name, parent=ctx))


def _find(root: click.Context, words: tuple[str, ...]) -> click.Context:
    ctx = root
    for word in words:
        found = dict(_subcommands(ctx)).get(word)
        if found is None:
            raise UsageError(
                f"no command '{ctx.command_path} {word}'",
                target=word,
                remedy=f"see '{ctx.command_path} --help' for its commands",
            )
        ctx = click.Context(found, info_name=word, parent=ctx)
    return ctx


@click.command("man")
@click.argument("words", nargs=-1, metavar="[COMMAND]...")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the pages of COMMAND and all its subcommands (default: every page) into "
    "this folder, one file each: expunge.1, expunge-shred.1, expunge-drive-wipe.1, ...",
)
@click.pass_context
def man_command(ctx: click.Context, words: tuple[str, ...], output: Path | None) -> None:
    """Manual pages for expunge and every subcommand.

    Without --output, the page of COMMAND (default: expunge itself) is printed, to read
    with: expunge man drive wipe | man -l -

    With --output DIR, the pages are written as files, to read with man -l DIR/expunge.1,
    or to install where man finds them, e.g. /usr/local/share/man/man1.
    """
    root = ctx.find_root()
    # A fresh context: the pages describe the commands, not this run's arguments.
    top = _find(click.Context(root.command, info_name=root.info_name or "expunge"), words)
    if output is None:
        click.echo(render_page(top), nl=False)
        return
    output.mkdir(parents=True, exist_ok=True)
    count = 0
    for page_ctx in walk(top):
        (output / page_name(page_ctx)).write_text(render_page(page_ctx), encoding="utf-8")
        count += 1
    click.echo(
        f"wrote {count} manual pages to {output} (read one: man -l {output / page_name(top)})"
    )
