"""Whether the station has ledger records waiting to be delivered, and where to.

Asked at the start of every command that opens the station (``commands.frame``): kept
apart from ``opening`` so that a station with nothing queued, the common case, imports
neither the ledger's opening nor its outbox records.
"""

from __future__ import annotations

from expunge.core.config import Home, ledger_location
from expunge.ledger.outbox_names import names
from expunge.ledger.postgres.urls import is_url


def pending_records(home: Home) -> list[str]:
    """The certificate ids whose records wait in the outbox (cheap: one listing)."""
    return names(home.outbox)


def shared(home: Home) -> bool:
    """Whether the station's ledger is a shared one (a URL), not the home's file."""
    return is_url(ledger_location(home))
