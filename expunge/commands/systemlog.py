"""What a command tells the system log (``core.syslog``): one line per certificate the
station writes, per error that ends the command, per audit, each naming the certificate,
the target, the outcome and the operator, where a SIEM and an auditor look first.

Off for one run with the global ``--no-syslog``, for a station with ``[log] syslog =
false`` in ``config.toml``. The log is best effort: nothing here can fail a command.

Each event is built (and ``core.syslog`` imported) only once ``core.logsocket`` finds a
log to send it to: on a machine without one, a one-file shred loads none of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from expunge.core import logsocket
from expunge.core.config import Home, explained_settings, system_log
from expunge.core.errors import (
    BusyError,
    ExpungeError,
    IntegrityError,
    Interrupted,
    MediaIOError,
    RefusedError,
    TargetError,
    UsageError,
    VerificationError,
)
from expunge.core.outcome import Outcome

if TYPE_CHECKING:
    from expunge.workflows.audit import AuditReport
    from expunge.workflows.certify import IssuedCertificate

DISABLED = "expunge.no_syslog"
"""Context key: set by the group's ``--no-syslog``."""
_REPORTED = "expunge.syslog_reported"

# What an error that ends a command is called in EXPUNGE_OUTCOME, most specific first.
_ERROR_KINDS: tuple[tuple[type[ExpungeError], str], ...] = (
    (Interrupted, "interrupted"),
    (UsageError, "usage"),
    (RefusedError, "refused"),
    (TargetError, "target"),
    (VerificationError, "verification"),
    (MediaIOError, "media-io"),
    (IntegrityError, "integrity"),
    (BusyError, "busy"),
)


def _enabled(home: Home | None) -> bool:
    """Whether this run logs: not under ``--no-syslog``, nor ``[log] syslog = false``."""
    context = click.get_current_context(silent=True)
    if context is not None and context.meta.get(DISABLED):
        return False
    if home is None:
        return True
    try:
        return system_log(home)[0]
    except ExpungeError:  # a broken config.toml is the command's to report, not the log's
        return True


def _operator(home: Home | None) -> str:
    """Who runs the command: ``--operator``, else the station's operator."""
    from expunge.commands.options import job_fields

    fields = job_fields()
    if fields is not None and fields.operator:
        return fields.operator
    if home is not None:
        try:
            return explained_settings(home, os.environ)[0].operator
        except ExpungeError:
            pass
    return os.environ.get("EXPUNGE_OPERATOR") or f"uid {os.geteuid()}"


def certificate_listener(home: Home) -> Callable[[IssuedCertificate], None] | None:
    """What the station calls with each certificate it writes (possibly from a wiping
    thread); None when this run does not log."""
    if not _enabled(home):
        return None
    env = dict(os.environ)

    def issued(written: IssuedCertificate) -> None:
        if logsocket.destination(env) is None:
            return
        from expunge.core import syslog

        certificate = written.certificate
        outcome = certificate.outcome
        syslog.send(
            syslog.Event(
                kind="destruction",
                message=(
                    f"destruction of {certificate.target}: {outcome} "
                    f"({certificate.sanitization.method_name}), certificate "
                    f"{certificate.certificate_id}"
                ),
                outcome=str(outcome),
                priority=syslog.Priority.NOTICE
                if outcome is Outcome.SUCCESS
                else syslog.Priority.ERR,
                target=certificate.target,
                certificate=certificate.certificate_id,
                operator=certificate.person.name,
            ),
            env,
        )

    return issued


def refusal(context: click.Context, error: ExpungeError) -> None:
    """Log the error that ends the command (unless an event already carried it)."""
    if context.meta.get(_REPORTED) is error:
        return
    from expunge.commands.options import HOME

    home = context.meta.get(HOME)
    if not _enabled(home):
        return
    if logsocket.destination(os.environ) is None:
        return
    from expunge.core import syslog

    kind = next((name for cls, name in _ERROR_KINDS if isinstance(error, cls)), "error")
    syslog.send(
        syslog.Event(
            kind="refusal",
            message=f"{context.invoked_subcommand or 'expunge'}: {error.diagnostics()}",
            outcome=kind,
            priority=syslog.Priority.WARNING,
            target=error.target or "",
            operator=_operator(home),
            exit_code=error.exit_code,
        ),
        os.environ,
    )


def audit(home: Home, report: AuditReport, failure: ExpungeError | None) -> None:
    """Log an audit's verdict; ``failure``, the error the command raises next, is then
    not logged again as a refusal."""
    if failure is not None:
        click.get_current_context().meta[_REPORTED] = failure
    if not _enabled(home):
        return
    if logsocket.destination(os.environ) is None:
        return
    from expunge.core import syslog

    verdict = "passed" if failure is None else "failed"
    syslog.send(
        syslog.Event(
            kind="audit",
            message=(
                f"audit of {report.source}: {verdict}, {len(report.problems)} problems, "
                f"{report.certificates_verified} certificates verified"
            ),
            outcome=verdict,
            priority=syslog.Priority.NOTICE if failure is None else syslog.Priority.ERR,
            target=report.source,
            operator=_operator(home),
            exit_code=None if failure is None else failure.exit_code,
        ),
        os.environ,
    )
