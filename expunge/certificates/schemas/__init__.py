"""JSON Schemas (draft 2020-12) of what expunge writes and reads: package data.

``certificate``: the signed payload of a ``.cert.json`` (schema ``SCHEMA_ID``, version 1);
``policy`` and ``config``: ``<home>/policy.toml`` and ``<home>/config.toml`` as parsed from
TOML. expunge's own readers stay the authority (they also check what a schema cannot
state, such as an outcome agreeing with its records); the schemas let other tools check
documents, and the tests hold every certificate the suite issues to the first one.
"""

from __future__ import annotations

from importlib.resources import files

SCHEMA_NAMES = ("certificate", "policy", "config")


def schema_text(name: str) -> str:
    """The JSON Schema named ``name`` (one of ``SCHEMA_NAMES``), as published."""
    if name not in SCHEMA_NAMES:
        raise ValueError(f"no schema named {name!r}")
    return files(__package__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
