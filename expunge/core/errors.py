"""One exception tree for everything a user can cause; each class carries its exit code.

The CLI renders ``diagnostics()`` as one line and exits with ``exit_code``; nothing a user
can cause reaches them as a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_TARGET = 4
EXIT_VERIFICATION = 5
EXIT_MEDIA_IO = 6
EXIT_INTEGRITY = 7
EXIT_BUSY = 8
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_INTERNAL: "internal error (a bug: please report it with the command line)",
    EXIT_USAGE: "usage error (bad option, argument, method, date or duration)",
    EXIT_REFUSED: "refused by a safety interlock; nothing was written",
    EXIT_TARGET: "target problem (missing, wrong type, permission, unsupported filesystem)",
    EXIT_VERIFICATION: "verification failed: the media does not hold what was written",
    EXIT_MEDIA_IO: "I/O error on the media; some ranges may not have been overwritten",
    EXIT_INTEGRITY: "certificate, ledger or sealed file invalid (signature, trust, tampering)",
    EXIT_BUSY: "another expunge process holds the lock (e.g. a running sweep)",
    EXIT_SIGINT: "interrupted by SIGINT (Ctrl-C); resume with --resume",
    EXIT_SIGTERM: "interrupted by SIGTERM; resume with --resume",
}


class ExpungeError(Exception):
    """Base of every error a user can cause.

    ``target`` names what the problem is about (a path, a device, a certificate);
    ``remedy`` tells the user what to do about it.
    """

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, target: str | None = None, remedy: str | None = None):
        super().__init__(message)
        self.message = message
        self.target = target
        self.remedy = remedy

    def __str__(self) -> str:
        return self.diagnostics()

    def diagnostics(self) -> str:
        """One line for the user: target, problem, remedy."""
        text = f"{self.target}: {self.message}" if self.target else self.message
        if self.remedy:
            text += f"; {self.remedy}"
        return text


class UsageError(ExpungeError):
    """A bad option, argument, method name, pattern, date or duration."""

    exit_code = EXIT_USAGE


class RefusedError(ExpungeError):
    """A safety interlock said no. Nothing was written."""

    exit_code = EXIT_REFUSED


class TargetError(ExpungeError):
    """The target cannot be handled: missing, wrong type, permission, unsupported medium."""

    exit_code = EXIT_TARGET


class LedgerUnreachable(TargetError):
    """A shared ledger cannot be reached (server down, network): nothing was written to it."""


class LedgerInDoubt(TargetError):
    """The connection to a shared ledger broke while a commit was on its way: the entries
    may or may not be recorded (delivery from the outbox finds out, and never appends
    twice)."""


class VerificationError(ExpungeError):
    """Read-back did not match what was written."""

    exit_code = EXIT_VERIFICATION


class MediaIOError(ExpungeError):
    """The medium returned an I/O error while writing, syncing or reading."""

    exit_code = EXIT_MEDIA_IO


class IntegrityError(ExpungeError):
    """A certificate, key or ledger failed a signature, schema, trust or chain check."""

    exit_code = EXIT_INTEGRITY


class BusyError(ExpungeError):
    """Another process holds the lock this operation needs."""

    exit_code = EXIT_BUSY


class Interrupted(ExpungeError):
    """A signal stopped the work; what was done is recorded and can be resumed."""

    def __init__(
        self,
        message: str,
        *,
        signum: int,
        target: str | None = None,
        remedy: str | None = None,
    ):
        super().__init__(message, target=target, remedy=remedy)
        self.signum = signum
        self.exit_code = 128 + signum
