"""JSON Schemas (draft 2020-12) of what the commands print under ``--json``: package data.

One file per kind of document, ``<name>.schema.json``; every document is an object whose
``schema`` is ``https://expunge.dev/output/<name>/v1`` and whose ``version`` is
``VERSION``. ``error`` is the object written to stderr when a command fails under
``--json``; ``drive-event`` is each line of the JSON Lines stream of ``drive wipe`` and
``drive watch``. The certificate's own schema lives with the certificates
(``expunge.certificates.schemas``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

VERSION = 1
"""The version every output document carries; it changes when a shape changes."""


def _folder() -> Traversable:
    """This package's data; ``importlib.resources`` (tempfile, shutil, random) is imported
    only by a command that prints JSON, not by every command that could."""
    from importlib.resources import files

    return files(__package__)


def output_names() -> tuple[str, ...]:
    """Every kind of output document there is a schema for."""
    suffix = ".schema.json"
    folder = _folder()
    return tuple(
        sorted(p.name[: -len(suffix)] for p in folder.iterdir() if p.name.endswith(suffix))
    )


def schema_id(name: str) -> str:
    """The ``schema`` of a document of kind ``name``; a kind without a schema file is a bug."""
    if not _folder().joinpath(f"{name}.schema.json").is_file():
        raise ValueError(f"no output schema named {name!r}")
    return f"https://expunge.dev/output/{name}/v{VERSION}"


def schema_text(name: str) -> str:
    """The JSON Schema of output documents of kind ``name``, as published."""
    schema_id(name)
    return _folder().joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
