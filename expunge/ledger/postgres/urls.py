"""Ledger locations that are PostgreSQL URLs, and how they are shown (without secrets).
Importable without psycopg: the factory asks before the driver is needed."""

from __future__ import annotations

import importlib.util
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from expunge.core.errors import UsageError

URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(location: str) -> bool:
    """Whether a ledger location names a PostgreSQL database rather than a file."""
    return location.startswith(URL_SCHEMES)


def display_url(url: str) -> str:
    """``url`` without its password (in the authority or as a parameter), for messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def require_driver(url: str) -> None:
    """A usage error saying how to install psycopg when it is missing."""
    if importlib.util.find_spec("psycopg") is None:
        raise UsageError(
            "a PostgreSQL ledger needs the psycopg driver",
            target=display_url(url),
            remedy="install expunge with the postgres extra: pip install 'expunge[postgres]'",
        )
