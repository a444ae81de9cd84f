"""Options shared by several commands, one decorator each."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from expunge.commands import completion
from expunge.core.config import DESTINATIONS, Home, resolve_home
from expunge.core.errors import UsageError
from expunge.shred.files import FileOptions
from expunge.shred.methods import MAX_PASSES, Method, choose_method
from expunge.verify import VerifyMode, VerifyOptions

if TYPE_CHECKING:
    from expunge.workflows.certify.fields import JobFields

F = TypeVar("F", bound=Callable[..., Any])

HOME = "expunge.home"
"""Context key: the home the running command was given (``home_option``)."""


def home_option(func: F) -> F:
    """``--home DIR`` (or EXPUNGE_HOME): where the key, ledger and certificates live;
    ``--ledger URL`` (or EXPUNGE_LEDGER_URL): a shared ledger instead of the home's."""

    @click.option(
        "--home",
        "home",
        type=click.Path(file_okay=False),
        default=None,
        help="Folder for the station key, ledger and certificates [env: EXPUNGE_HOME].",
    )
    @click.option(
        "--ledger",
        "ledger_url",
        metavar="URL",
        default=None,
        help="A shared ledger, postgresql://... [env: EXPUNGE_LEDGER_URL; default: [ledger] "
        "url in config.toml, else <home>/ledger.db].",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, home: str | None, ledger_url: str | None, **kwargs: Any) -> Any:
        url = ledger_url or os.environ.get("EXPUNGE_LEDGER_URL") or None
        resolved = Home(resolve_home(home, os.environ), url)
        # The error boundary logs a refusal with this home's operator and [log] setting.
        click.get_current_context().meta[HOME] = resolved
        return func(*args, home=resolved.check(), **kwargs)

    return wrapper  # type: ignore[return-value]


@dataclass(eq=False)  # the one request of a run, updated as parsing goes
class OutputRequest:
    """What the command line asked of the output, as far as parsing got: the error
    boundary (``expunge.cli.main``) reads it to write a failure as JSON or as a line.

    ``json`` stays ``None`` until the running command's ``--json`` option is parsed (a
    command without one, or a usage error found before it, leaves it unknown).
    """

    json: bool | None = None


def _note_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    request = ctx.find_object(OutputRequest)
    if request is not None:
        request.json = value
    return value


def json_option(func: F) -> F:
    """``--json``: the report on stdout as JSON, and a failure on stderr as a JSON object."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        callback=_note_json,
        help="Print the report as JSON (and a failure as a JSON object on stderr).",
    )(func)


def cert_out_option(func: F) -> F:
    """``--cert-out FILE``: where to write the certificate instead of the home folder."""
    return click.option(
        "--cert-out",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Write the certificate here instead of <home>/certificates/.",
    )(func)


def _key_sources(flag: str, dest: str, help_text: str) -> Callable[[F], F]:
    return click.option(flag, dest, multiple=True, type=click.Path(path_type=Path), help=help_text)


trust_option = _key_sources(
    "--trust",
    "trust_sources",
    "A trusted station key file, or trust folder (repeatable); default: <home>/trusted/ "
    "and this station's own key.",
)
"""``--trust KEY_OR_DIR`` (repeatable): station keys to trust."""

trust_auditor_option = _key_sources(
    "--trust-auditor",
    "trust_auditors",
    "An auditor's public key file or folder (repeatable): countersignatures by these keys "
    "count; default: <home>/trusted/auditors/.",
)
"""``--trust-auditor KEY_OR_DIR`` (repeatable): auditors' public keys to trust."""


def file_options(func: F) -> F:
    """``--allow-hardlinks``, ``--accept-limitations``, ``--force``: overrides of file checks.

    Gives the command ``file_options: FileOptions``; ``--cross-filesystems`` (``-r`` only)
    is added by ``shred`` itself.
    """

    @click.option("--allow-hardlinks", is_flag=True, help="Wipe files that have other names.")
    @click.option(
        "--accept-limitations", is_flag=True, help="Overwrite where it cannot reach old copies."
    )
    @click.option("--force", is_flag=True, help="Wipe files open in other processes.")
    @functools.wraps(func)
    def wrapper(
        *args: Any, allow_hardlinks: bool, accept_limitations: bool, force: bool, **kwargs: Any
    ) -> Any:
        options = FileOptions(allow_hardlinks, accept_limitations, force)
        return func(*args, file_options=options, **kwargs)

    return wrapper  # type: ignore[return-value]


def _random_passes(count: int | None, method_name: str | None, passes: str | None) -> str | None:
    """``-n N`` (GNU shred's) as the pass list it means: N random passes."""
    if count is None:
        return passes
    if method_name or passes:
        given = "--method" if method_name else "--passes"
        raise UsageError(
            f"-n and {given} both say which passes to write",
            target="-n",
            remedy="give one of them (-n N is N random passes, --passes R,R,...)",
        )
    return ",".join(["R"] * count)


def _method_options(whole_drive: bool) -> Callable[[F], F]:
    """``-m/--method``, ``--passes``, ``-n/--iterations``, ``-z/--blank``: what to write;
    ``whole_drive`` also admits the drive's own sanitize operations."""

    def decorate(func: F) -> F:
        @click.option(
            "-m",
            "--method",
            "method_name",
            default=None,
            help="Method (see 'expunge methods').",
            shell_complete=completion.drive_methods if whole_drive else completion.methods,
        )
        @click.option("--passes", default=None, help="Custom passes, e.g. 00,ff,R,55aa.")
        @click.option(
            "-n",
            "--iterations",
            "random_count",
            type=click.IntRange(1, MAX_PASSES),
            default=None,
            metavar="N",
            help="N random passes (as GNU shred -n).",
        )
        @click.option("-z", "--blank", is_flag=True, help="Add a final zero pass.")
        @functools.wraps(func)
        def wrapper(
            *args: Any,
            method_name: str | None,
            passes: str | None,
            random_count: int | None,
            blank: bool,
            **kwargs: Any,
        ) -> Any:
            passes = _random_passes(random_count, method_name, passes)
            method = choose_method(method_name, passes, blank, whole_drive=whole_drive)
            if random_count is not None:
                method = replace(method, source=f"{random_count} random passes (-n)")
            return func(*args, method=method, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


method_options = _method_options(whole_drive=False)
drive_method_options = _method_options(whole_drive=True)


def verify_options(func: F) -> F:
    """``--verify``, ``--coverage``, ``--verify-all``: how to read the media back."""

    @click.option(
        "--verify",
        "verify_mode",
        type=click.Choice([m.value for m in VerifyMode]),
        default=VerifyMode.NIST.value,
        show_default=True,
        help="Read-back verification of the final pass.",
    )
    @click.option(
        "--coverage",
        type=click.FloatRange(0.001, 100.0),
        default=None,
        help="Percent of blocks sampled by --verify quick (default 1).",
    )
    @click.option("--verify-all", is_flag=True, help="Verify every pass, right after it.")
    @functools.wraps(func)
    def wrapper(
        *args: Any, verify_mode: str, coverage: float | None, verify_all: bool, **kwargs: Any
    ) -> Any:
        options = VerifyOptions(verify_mode, coverage, verify_all)
        return func(*args, verify=options, **kwargs)

    return wrapper  # type: ignore[return-value]


resume_option = click.option(
    "--resume", is_flag=True, help="Finish an interrupted wipe from its journal."
)

record_later_option = click.option(
    "--record-later",
    is_flag=True,
    help="If the shared ledger is unreachable, destroy all the same: every file is hashed, "
    "certified here, and its record queued in <home>/outbox/ until 'expunge ledger sync' "
    "(or any later command) delivers it.",
)

on_error_option = click.option(
    "--on-error",
    type=click.Choice(["continue", "abort"]),
    default="continue",
    show_default=True,
    help="On a write error: write everything else, or stop the pass.",
)


def technique_options(func: F) -> F:
    """``-m``/``--passes``/``--blank``, ``--verify``/``--coverage``/``--verify-all`` and the
    file-check overrides: how files are destroyed, given to the command as ``technique``."""

    @method_options
    @verify_options
    @file_options
    @functools.wraps(func)
    def wrapper(
        *args: Any,
        method: Method,
        verify: VerifyOptions,
        file_options: FileOptions,
        **kwargs: Any,
    ) -> Any:
        # Imported here: commands that take no technique do not load the destroy workflow.
        from expunge.workflows.destroy import Technique

        return func(*args, technique=Technique(method, verify, file_options), **kwargs)

    return wrapper  # type: ignore[return-value]


_JOB_FIELDS = "expunge.job_fields"


def _job_options(classification: bool) -> Callable[[F], F]:
    """``--operator``, ``--asset-tag``, ``--media-source``, ``--destination`` (and, where
    the command's targets need not be registered, ``--classification``): the fields of
    this job's certificates, over the ``[station]`` defaults of config.toml.

    They are kept in the click context, where ``frame.open_station`` finds them: every
    certificate the command's station issues carries them.
    """

    def decorate(func: F) -> F:
        @click.option(
            "--operator", default=None, help="Who performs this job [env: EXPUNGE_OPERATOR]."
        )
        @click.option("--asset-tag", default=None, help="Property number or ticket of the medium.")
        @click.option("--media-source", default=None, help="Where the medium came from.")
        @click.option(
            "--destination",
            type=click.Choice(DESTINATIONS),
            default=None,
            help="What becomes of the medium (default: [station] destination).",
        )
        @functools.wraps(func)
        def wrapper(
            *args: Any,
            operator: str | None,
            asset_tag: str | None,
            media_source: str | None,
            destination: str | None,
            **kwargs: Any,
        ) -> Any:
            from expunge.workflows.certify.fields import JobFields

            level = kwargs.pop("classification", None)
            click.get_current_context().meta[_JOB_FIELDS] = JobFields(
                operator or None,
                asset_tag or None,
                media_source or None,
                destination,
                level or None,
            )
            return func(*args, **kwargs)

        if classification:
            wrapper = click.option(
                "--classification",
                default=None,
                help="Classification of the data, when the ledger does not know it.",
            )(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


job_options = _job_options(classification=True)
"""The certificate fields of a job whose targets may be unregistered."""

document_job_options = _job_options(classification=False)
"""The certificate fields of a job on registered documents (the ledger classifies them)."""


def job_fields() -> JobFields | None:
    """The certificate fields the running command was given, if it takes them."""
    context = click.get_current_context(silent=True)
    return None if context is None else context.find_root().meta.get(_JOB_FIELDS)
