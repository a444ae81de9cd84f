"""Shell completion of the values click cannot guess: methods, drives, documents, certificates.

Each function is a click ``shell_complete`` callback. They run on every TAB press, so
they import what they need when called (click's own ``shell_completion`` too: every
command imports this module for its options), only read (no home, ledger or key is created by
a completion), and offer nothing rather than fail: the shell would print an error into
the middle of the command line being typed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

Callback = Callable[[click.Context, click.Parameter, str], "list[CompletionItem]"]


def _quiet(callback: Callback) -> Callback:
    @wraps(callback)
    def wrapper(
        ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        try:
            return callback(ctx, param, incomplete)
        # Whatever went wrong (no udev, a damaged ledger, an unreadable home), the cost of
        # a TAB that offers nothing is small; a traceback in the command line is not.
        except Exception:
            return []

    return wrapper


def _home(ctx: click.Context) -> Path:
    """The home the command would use: ``--home`` if given before the word completed."""
    from expunge.core.config import resolve_home

    return resolve_home(ctx.params.get("home"), os.environ)


def _matching(names: Iterable[tuple[str, str]], incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    return [CompletionItem(name, help=text) for name, text in names if name.startswith(incomplete)]


def _method_items(incomplete: str, *, whole_drive: bool) -> list[CompletionItem]:
    import textwrap

    from expunge.shred.methods import CRYPTO_METHODS, REGISTRY, SANITIZE_METHODS

    methods = [*REGISTRY.values(), *CRYPTO_METHODS.values()]
    if whole_drive:
        methods += SANITIZE_METHODS.values()
    # zsh and fish show the text beside each name: the passes, or what the drive does.
    described = ((m.name, m.describe_passes() or textwrap.shorten(m.source, 60)) for m in methods)
    return _matching(described, incomplete)


@_quiet
def methods(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``-m/--method`` of files: the method registry, and ``luks-erase``."""
    return _method_items(incomplete, whole_drive=False)


@_quiet
def drive_methods(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """``-m/--method`` of whole drives: the registry and the drive's own erase commands."""
    return _method_items(incomplete, whole_drive=True)


@_quiet
def drives(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Drive nodes from discovery: removable and USB drives; fixed disks once
    ``--allow-fixed`` is given, virtual ones (loop devices) with ``--include-virtual``."""
    from expunge.drives.discovery import list_drives

    fixed = bool(ctx.params.get("allow_fixed"))
    virtual = bool(ctx.params.get("include_virtual"))
    chosen = (
        d
        for d in list_drives(include_all=fixed or virtual)
        if (virtual if d.virtual else d.hotpluggable or fixed)
    )
    named = (
        (d.node, " ".join(filter(None, (d.vendor, d.model, d.identity_token)))) for d in chosen
    )
    return _matching(named, incomplete)


@_quiet
def documents(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Document ids from the home's ledger, opened read-only; none from a shared ledger
    (a TAB must not wait on the network) or where there is no ledger yet."""
    from expunge.core.config import Home, ledger_location
    from expunge.ledger.peek import document_ids
    from expunge.ledger.postgres.urls import is_url

    url = ctx.params.get("ledger_url") or os.environ.get("EXPUNGE_LEDGER_URL") or None
    location = ledger_location(Home(_home(ctx), url))
    if is_url(location):
        return []
    return _matching(((doc_id, "") for doc_id in document_ids(Path(location))), incomplete)


@_quiet
def certificates(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Certificate files in ``<home>/certificates/``, matched by path or by file name;
    the shell's own file completion where none matches (a certificate kept elsewhere)."""
    from click.shell_completion import CompletionItem

    from expunge.certificates.register import CERT_SUFFIX
    from expunge.core.config import Home

    folder = Home(_home(ctx)).certificates
    found = sorted(folder.glob(f"*{CERT_SUFFIX}")) if folder.is_dir() else []
    by_name = "/" not in incomplete
    items = [
        CompletionItem(str(path))
        for path in found
        if str(path).startswith(incomplete) or (by_name and path.name.startswith(incomplete))
    ]
    return items or [CompletionItem(incomplete, type="file")]
