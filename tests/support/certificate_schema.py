"""Every certificate the suite issues, held to the published JSON Schema.

``tests/conftest.py`` runs ``check_certificates`` over the session's temporary folders at
the end of the run: each ``*.cert.json`` whose payload expunge's own reader accepts must
also satisfy ``expunge cert schema certificate``. Files the reader rejects are the tamper
fixtures and forgeries tests write on purpose; they are counted, not validated.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from expunge.certificates import PAYLOAD_TYPE, Certificate
from expunge.certificates.schemas import schema_text
from expunge.core.errors import IntegrityError


def certificate_validator() -> Draft202012Validator:
    """A validator of the certificate schema as the package publishes it."""
    schema = json.loads(schema_text("certificate"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@dataclass
class SchemaCheck:
    """What a sweep over certificate files found."""

    validated: int = 0
    not_certificates: int = 0
    failures: list[str] = field(default_factory=list)


def _accepted_payload(path: Path) -> Any | None:
    """The payload, if expunge reads the file as a certificate; else None."""
    try:
        envelope = json.loads(path.read_bytes())
        if not isinstance(envelope, dict) or envelope.get("payloadType") != PAYLOAD_TYPE:
            return None
        payload = base64.b64decode(envelope["payload"], validate=True)
        Certificate.from_json(payload)
        return json.loads(payload)
    except (OSError, ValueError, KeyError, TypeError, IntegrityError):
        return None


def check_certificates(root: Path, validator: Draft202012Validator) -> SchemaCheck:
    """Validate every certificate file under ``root`` (symlinks not followed)."""
    result = SchemaCheck()
    for folder, _, names in os.walk(root):
        for name in names:
            if not name.endswith(".cert.json"):
                continue
            path = Path(folder, name)
            payload = _accepted_payload(path)
            if payload is None:
                result.not_certificates += 1
                continue
            result.validated += 1
            errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.path))
            if errors:
                where = "/".join(map(str, errors[0].path)) or "(top)"
                result.failures.append(f"{path}: {where}: {errors[0].message}")
    return result
