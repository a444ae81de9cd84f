"""What an audit needs of a file-destruction certificate, read without building its model.

An audit of a million ledger entries reads a quarter of a million certificates, each
checked as ``Certificate.from_dict`` checks it; building the model (some thirty frozen
records, a hundred typed getters) costs four times what the checks themselves do. So the
common certificate (file subjects only: no raw-byte names, key erasures or drive
commands) is checked here in one pass over the parsed JSON, every rule of the model's
readers applied to it, and only the facts an audit uses are returned.

This is a second statement of the model's rules, kept because no schema library states
them (computed outcomes and statuses, pass order, keys only on the final pass) and the
general readers cannot be this fast. It may refuse more than the model does, never
less: ``None`` sends the caller to ``Certificate.from_dict``, which accepts or names the
defect. Its tests compare the two on every field of a certificate changed to values of
every type; a rule added to the model must be added here too, or the certificates it
concerns sent to the model.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from expunge.certificates._strict import loads_canonical
from expunge.certificates.model import SCHEMA_ID, SCHEMA_VERSION, Category, MethodUsed
from expunge.core.outcome import Outcome
from expunge.core.strictjson import SAFE_INTEGER

_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_HEX = re.compile(r"(?:[0-9a-f]{2})+")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z")
_SURROGATE = re.compile("[\udc80-\udcff]")

_CERTIFICATE = frozenset(
    {
        "schema",
        "version",
        "outcome",
        "certificate_id",
        "target",
        "issued_at",
        "started_at",
        "finished_at",
        "host",
        "person",
        "media",
        "sanitization",
        "subjects",
        "limitations",
        "errors",
        "interrupted_by",
        "destination",
        "notes",
        "previous_certificate_sha256",
        "ledger_anchor",
    }
)
_CERTIFICATE_TEXTS = ("certificate_id", "target", "host", "destination", "notes")
_PERSON = ("name", "title", "organization", "location")
_MEDIA = ("manufacturer", "model", "serial", "media_type", "source", "classification")
_SANITIZATION = frozenset(
    {
        "category",
        "category_reason",
        "method_used",
        "method_name",
        "method_details",
        "tool_name",
        "tool_version",
        "verification_method",
        "post_classification",
    }
)
_LIMITATION = frozenset({"code", "text", "remedy", "target"})
_ERROR = frozenset({"code", "text", "target"})
_ANCHOR = frozenset({"ledger_id", "seq", "head_hash"})
_RECORD = frozenset(
    {"subject", "planned_passes", "passes", "verifications", "removed", "key_erasure"}
)
_FILE = frozenset(
    {"kind", "path", "size", "inode", "device", "filesystem", "content_blake3", "document_id"}
)
_PASS = frozenset(
    {
        "index",
        "label",
        "kind",
        "pattern_hex",
        "key_hex",
        "size",
        "bytes_written",
        "started_at",
        "finished_at",
        "seconds",
        "throughput",
        "synced",
        "unwritten",
    }
)
_VERIFICATION = frozenset(
    {
        "mode",
        "pass_index",
        "seed",
        "block_size",
        "blocks_planned",
        "blocks_checked",
        "bytes_checked",
        "coverage",
        "mismatches",
        "mismatching_offsets",
        "read_errors",
        "digest",
        "cache_bypass",
        "status",
    }
)
_CATEGORIES = frozenset(c.value for c in Category)
_METHODS = frozenset(m.value for m in MethodUsed)
_OUTCOMES = frozenset(o.value for o in Outcome)


class _Refused(Exception):
    """Not shown acceptable here: the model's reader decides."""


@dataclass(frozen=True, slots=True)
class FileCertificateFacts:
    """The facts of a certificate whose subjects are all files: its id, target, outcome,
    each file's (name, document id, content digest, destroyed) and its ledger anchor
    (ledger id, seq, head hash)."""

    certificate_id: str
    target: str
    outcome: Outcome
    files: tuple[tuple[str, str | None, str | None, bool], ...]
    anchor: tuple[str, int, str] | None


def _text(value: object) -> str:
    if type(value) is not str:
        raise _Refused
    return value


def _opt_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _integer(value: object, minimum: int = 0) -> int:
    if type(value) is not int or not minimum <= value <= SAFE_INTEGER:
        raise _Refused
    return value


def _number(value: object) -> float:
    if type(value) is not int and type(value) is not float:
        raise _Refused
    if not math.isfinite(value) or value < 0:
        raise _Refused
    return float(value)


def _flag(value: object) -> bool:
    if type(value) is not bool:
        raise _Refused
    return value


def _hex(value: object, nbytes: int | None = None) -> str:
    text = _text(value)
    if not _HEX.fullmatch(text) or (nbytes is not None and len(text) != 2 * nbytes):
        raise _Refused
    return text


def _timestamp(value: object) -> None:
    text = _text(value)
    if not _TIMESTAMP.fullmatch(text):
        raise _Refused
    try:
        datetime.fromisoformat(text[:19])
    except ValueError:
        raise _Refused from None


def _object(value: object, names: frozenset[str]) -> dict[str, Any]:
    if type(value) is not dict or value.keys() != names:
        raise _Refused
    return value


def _array(value: object) -> list[Any]:
    if type(value) is not list:
        raise _Refused
    return value


def _with_optional(value: object, names: tuple[str, ...], optional: str) -> None:
    """An object of text fields ``names`` and an optional text-or-null ``optional``."""
    if type(value) is not dict:
        raise _Refused
    if len(value) != len(names) + (optional in value):
        raise _Refused
    for name in names:
        _text(value.get(name))
    _opt_text(value.get(optional))


def _pass(data: object, position: int, last: bool) -> bool:
    """Check one pass record; whether it is complete."""
    record = _object(data, _PASS)
    if _integer(record["index"]) != position:
        raise _Refused
    _text(record["label"])
    kind = _text(record["kind"])
    pattern, key = _opt_text(record["pattern_hex"]), _opt_text(record["key_hex"])
    if kind == "fixed":
        if pattern is None or key is not None:
            raise _Refused
        _hex(pattern)
    elif kind == "random":
        if pattern is not None:
            raise _Refused
        if key is not None:
            _hex(key, 32)
    else:
        raise _Refused
    if key is not None and not last:
        raise _Refused
    size, written = _integer(record["size"]), _integer(record["bytes_written"])
    _timestamp(record["started_at"])
    _timestamp(record["finished_at"])
    _number(record["seconds"])
    _number(record["throughput"])
    synced = _flag(record["synced"])
    unwritten = _array(record["unwritten"])
    for gap in unwritten:
        extent = _object(gap, frozenset({"start", "end"}))
        if _integer(extent["end"]) < _integer(extent["start"]):
            raise _Refused
    return written == size and synced and not unwritten


def _verification(data: object, passes: int) -> str:
    """Check one verification record; its status."""
    record = _object(data, _VERIFICATION)
    _text(record["mode"])
    pass_index = record["pass_index"]
    if pass_index is not None and _integer(pass_index) >= passes:
        raise _Refused
    if record["seed"] is not None:
        _hex(record["seed"])
    _integer(record["block_size"], 1)
    planned, checked = _integer(record["blocks_planned"]), _integer(record["blocks_checked"])
    _integer(record["bytes_checked"])
    if _number(record["coverage"]) > 1:
        raise _Refused
    mismatches = _integer(record["mismatches"])
    offsets = _array(record["mismatching_offsets"])
    for offset in offsets:
        _integer(offset)
    if len(offsets) > mismatches:
        raise _Refused
    read_errors = _integer(record["read_errors"])
    if record["digest"] is not None:
        _hex(record["digest"])
    _text(record["cache_bypass"])
    if mismatches:
        status = "failed"
    elif read_errors or planned == 0 or checked < planned:
        status = "incomplete"
    else:
        status = "passed"
    if record["status"] != status:
        raise _Refused
    return status


def _subject(data: object) -> tuple[tuple[str, str | None, str | None, bool], bool, bool, bool]:
    """Check one subject record of a file: (its facts, sanitized, verification failed,
    destroyed)."""
    record = _object(data, _RECORD)
    if record["key_erasure"] is not None:
        raise _Refused
    subject = _object(record["subject"], _FILE)
    if subject["kind"] != "file":
        raise _Refused
    path = _text(subject["path"])
    if _SURROGATE.search(path):
        raise _Refused
    _integer(subject["size"])
    _integer(subject["inode"])
    _integer(subject["device"])
    _text(subject["filesystem"])
    digest = subject["content_blake3"]
    if digest is not None:
        _hex(digest, 32)
    document = _opt_text(subject["document_id"])
    planned = _integer(record["planned_passes"])
    passes = _array(record["passes"])
    if len(passes) > planned:
        raise _Refused
    last = len(passes) - 1
    complete = [_pass(p, i, i == last) for i, p in enumerate(passes)]
    statuses = [_verification(v, len(passes)) for v in _array(record["verifications"])]
    removed = record["removed"]
    if removed is not None:
        _flag(removed)
    sanitized = planned > 0 and len(passes) == planned and all(complete)
    verified = bool(statuses) and all(s == "passed" for s in statuses)
    destroyed = sanitized and verified and removed is not False
    return (path, document, digest, destroyed), sanitized, "failed" in statuses, destroyed


def _notes(items: object, names: frozenset[str]) -> int:
    """Check limitations or errors (code, text, [remedy,] target); how many there are."""
    listed = _array(items)
    for item in listed:
        record = _object(item, names)
        for name in names - {"target"}:
            _text(record[name])
        _opt_text(record["target"])
    return len(listed)


def _anchor(data: object) -> tuple[str, int, str] | None:
    if data is None:
        return None
    anchor = _object(data, _ANCHOR)
    return _text(anchor["ledger_id"]), _integer(anchor["seq"]), _hex(anchor["head_hash"])


def _outcome(interrupted: bool, subjects: list[tuple[Any, bool, bool, bool]], errors: int) -> str:
    # As Certificate.outcome computes it.
    if interrupted:
        return Outcome.INTERRUPTED.value
    if not subjects or any(failed for _, _, failed, _ in subjects):
        return Outcome.FAILED.value
    if all(destroyed for *_, destroyed in subjects) and not errors:
        return Outcome.SUCCESS.value
    if any(sanitized for _, sanitized, _, _ in subjects):
        return Outcome.PARTIAL.value
    return Outcome.FAILED.value


def read_parsed(value: object) -> FileCertificateFacts:
    """The facts of a parsed certificate (``loads_canonical``'s value); ``_Refused``
    where ``Certificate.from_dict`` must decide."""
    data = _object(value, _CERTIFICATE)
    if data["schema"] != SCHEMA_ID or type(data["version"]) is not int:
        raise _Refused
    if data["version"] != SCHEMA_VERSION:
        raise _Refused
    for name in _CERTIFICATE_TEXTS:
        _text(data[name])
    if not _ULID.fullmatch(data["certificate_id"]):
        raise _Refused
    for name in ("issued_at", "started_at", "finished_at"):
        _timestamp(data[name])
    _with_optional(data["person"], _PERSON, "phone")
    _with_optional(data["media"], _MEDIA, "asset_tag")
    sanitization = _object(data["sanitization"], _SANITIZATION)
    for name in _SANITIZATION:
        _text(sanitization[name])
    if sanitization["category"] not in _CATEGORIES or sanitization["method_used"] not in _METHODS:
        raise _Refused
    subjects = [_subject(s) for s in _array(data["subjects"])]
    _notes(data["limitations"], _LIMITATION)
    errors = _notes(data["errors"], _ERROR)
    interrupted = _opt_text(data["interrupted_by"]) is not None
    if data["previous_certificate_sha256"] is not None:
        _hex(data["previous_certificate_sha256"], 32)
    anchor = _anchor(data["ledger_anchor"])
    outcome = _outcome(interrupted, subjects, errors)
    if data["outcome"] != outcome:
        raise _Refused
    return FileCertificateFacts(
        certificate_id=data["certificate_id"],
        target=data["target"],
        outcome=Outcome(outcome),
        files=tuple(facts for facts, *_ in subjects),
        anchor=anchor,
    )


def file_certificate_facts(payload: bytes) -> FileCertificateFacts | None:
    """The facts of the certificate ``payload`` holds when it is a certificate of files
    that ``Certificate.from_json`` accepts; ``None`` when that reader must decide (it is
    not such a certificate, or something in it is wrong)."""
    value = loads_canonical(payload)
    if value is None:
        return None
    try:
        return read_parsed(value)
    except _Refused:
        return None
