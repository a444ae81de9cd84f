"""What ``--json`` prints, held to the published output schemas (``expunge.commands.schemas``).

``report_json(result, "shred")`` parses a run's stdout as one document, checks its envelope
(``schema``, ``version``) and validates it against ``shred.schema.json``; ``json_lines``
does the same for each line of a JSON Lines stream; ``error_json`` for the one ``error``
object a failure under ``--json`` writes to stderr.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from jsonschema import Draft202012Validator

from expunge.commands.schemas import VERSION, schema_id, schema_text
from tests.support import Result


@functools.cache
def output_validator(name: str) -> Draft202012Validator:
    """A validator of output documents of kind ``name``, as the package publishes it."""
    schema = json.loads(schema_text(name))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_output(document: Any, name: str) -> dict[str, Any]:
    """``document``, checked to be a ``name`` document of this version and valid."""
    assert isinstance(document, dict), f"a {name} document is an object, not {document!r:.80}"
    assert document.get("schema") == schema_id(name), document.get("schema")
    assert document.get("version") == VERSION
    errors = sorted(output_validator(name).iter_errors(document), key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{e.json_path}: {e.message}" for e in errors[:10])
    return document


def report_json(result: Result, schema: str) -> dict[str, Any]:
    """The one JSON document of a run's stdout, validated as a ``schema`` document."""
    return validate_output(json.loads(result.out), schema)


def json_lines(result: Result, schema: str = "drive-event") -> list[dict[str, Any]]:
    """Every line of a run's JSON Lines stdout, each validated as a ``schema`` document."""
    return [validate_output(json.loads(line), schema) for line in result.out.splitlines()]


def error_json(result: Result) -> dict[str, Any]:
    """The failure a run under ``--json`` reported: exactly one ``error`` object on stderr,
    whose ``exit_code`` is the process's."""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    error = validate_output(json.loads(lines[0]), "error")
    assert error["exit_code"] == result.code != 0, (error, result.code)
    return error
