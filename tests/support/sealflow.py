"""Helpers for the sealed-document tests: seal and destroy through the CLI, key-store reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from expunge.ledger.keystore import KeyStore
from tests.support import Result, run_cli
from tests.support.json_output import report_json


def ok(result: Result) -> Result:
    """``result``, asserted successful (the output is in the message when not)."""
    assert result.code == 0, result
    return result


def seal(home: Path, path: Path, *args: str) -> dict[str, Any]:
    """``expunge seal PATH --json`` (registering as confidential unless told); its JSON."""
    level = (
        []
        if "--classification" in args or "--doc" in args
        else ["--classification", "confidential"]
    )
    result = ok(run_cli("seal", path, *level, *args, "--json", home=home))
    return report_json(result, "seal")


def destroy(home: Path, doc_id: str) -> dict[str, Any]:
    """``expunge destroy DOC --yes --json``, asserted successful; its JSON."""
    result = ok(run_cli("destroy", doc_id, "--yes", "--json", home=home))
    return report_json(result, "destroy")


def certificate(path: str | Path) -> dict[str, Any]:
    """The payload of a certificate file (its DSSE envelope decoded)."""
    import base64

    envelope = json.loads(Path(path).read_text())
    payload = json.loads(base64.b64decode(envelope["payload"]))
    assert isinstance(payload, dict)
    return payload


def wrapped_key(home: Path, doc_id: str) -> bytes:
    """The wrapped key stored for ``doc_id`` in the home's key store."""
    with KeyStore(home / "keystore", create=False) as store:
        return store.get(doc_id)


def keystore_files(home: Path) -> list[Path]:
    """Every file of the key store folder, and the station KEK."""
    return [*sorted((home / "keystore").iterdir()), home / "station.kek"]
