"""The one shape of every JSON document the commands print: an envelope, then the body.

Every document is an object: ``schema`` (which kind, see ``expunge.commands.schemas``),
``version``, then the body's fields; a body that is a list becomes the ``items`` field.
Reports go to stdout; under ``--json`` a failure goes to stderr as one ``error`` object.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

from expunge.commands.schemas import VERSION, schema_id

ENVELOPE_KEYS = ("schema", "version")


def envelope(schema: str, body: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
    """``body`` as a document of kind ``schema``: ``{"schema", "version", ...body}``."""
    fields = dict(body) if isinstance(body, Mapping) else {"items": list(body)}
    clash = [key for key in ENVELOPE_KEYS if key in fields]
    if clash:
        raise ValueError(f"a {schema} body has its own {', '.join(clash)}: nest it")
    return {"schema": schema_id(schema), "version": VERSION, **fields}


def emit_json(schema: str, body: Mapping[str, Any] | Sequence[Any]) -> None:
    """Print ``body`` on stdout as one document of kind ``schema``."""
    click.echo(json.dumps(envelope(schema, body), indent=2))


def emit_json_line(schema: str, body: Mapping[str, Any]) -> None:
    """Write ``body`` on stdout as one JSON Lines document of kind ``schema``, flushed."""
    sys.stdout.write(json.dumps(envelope(schema, body), separators=(",", ":")) + "\n")
    sys.stdout.flush()


def emit_error(message: str, target: str | None, remedy: str | None, exit_code: int) -> None:
    """A failure under ``--json``: one ``error`` object on one line of stderr."""
    body = {"error": message, "target": target, "remedy": remedy, "exit_code": exit_code}
    click.echo(json.dumps(envelope("error", body)), err=True)
