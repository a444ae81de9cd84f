"""The published JSON Schemas say what expunge's readers accept: no more, no less."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from expunge.certificates import (
    Certificate,
    KeyErasure,
    Person,
    SubjectRecord,
    sign_certificate,
)
from expunge.certificates.drive_facts import (
    DeviceCommandRecord,
    DriveSubject,
    FreeSpaceSubject,
    HealthRecord,
    HiddenAreasRecord,
)
from expunge.certificates.model import ErrorRecord, LedgerAnchor, Limitation, Media, Sanitization
from expunge.certificates.schemas import SCHEMA_NAMES, schema_text
from expunge.certificates.subjects import (
    ByteRange,
    FileSubject,
    PassRecord,
    VerificationRecord,
)
from expunge.core.config import StationSettings
from expunge.core.errors import IntegrityError, UsageError
from expunge.ledger.classification import _RULE_KEYS as LEVEL_RULE_KEYS
from expunge.ledger.classification import DEFAULT_POLICY, VERIFY_MODES
from expunge.workflows.sweep.policy import _RULE_KEYS as PATH_RULE_KEYS
from expunge.workflows.sweep.policy import _TOP_KEYS, parse_policy
from tests.support.certificate_schema import certificate_validator, check_certificates
from tests.support.tamper_fixtures import (
    STATION,
    fixtures,
    sample_certificate,
    sample_drive_certificate,
)

README = Path(__file__).resolve().parents[3] / "README.md"
SCHEMA = json.loads(schema_text("certificate"))
VALIDATOR = certificate_validator()

# Each object of the certificate schema, the record it mirrors, and its computed keys.
MIRRORS: dict[str, tuple[type, frozenset[str]]] = {
    "person": (Person, frozenset()),
    "media": (Media, frozenset()),
    "sanitization": (Sanitization, frozenset()),
    "limitation": (Limitation, frozenset()),
    "error": (ErrorRecord, frozenset()),
    "ledger_anchor": (LedgerAnchor, frozenset()),
    "file": (FileSubject, frozenset({"kind"})),
    "drive": (DriveSubject, frozenset({"kind"})),
    "free_space": (FreeSpaceSubject, frozenset({"kind"})),
    "health": (HealthRecord, frozenset()),
    "hidden_areas": (HiddenAreasRecord, frozenset()),
    "byte_range": (ByteRange, frozenset()),
    "pass": (PassRecord, frozenset()),
    "verification": (VerificationRecord, frozenset({"status"})),
    "key_erasure": (KeyErasure, frozenset()),
    "device_command": (DeviceCommandRecord, frozenset()),
    "subject_record": (SubjectRecord, frozenset()),
}


def _payload(certificate: Certificate) -> dict[str, Any]:
    return dict(json.loads(certificate.canonical()))


def _model_accepts(payload: object) -> bool:
    try:
        Certificate.from_dict(payload)
    except IntegrityError:
        return False
    return True


def _objects(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], dict]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _objects(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, (*path, index))


def _at(payload: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    node: Any = payload
    for step in path:
        node = node[step]
    return node  # type: ignore[no-any-return]


def _rich_certificate() -> Certificate:
    """A certificate using every kind of record: drive facts, free space, key erasure."""
    drive = sample_drive_certificate()
    record = drive.subjects[0]
    facts = dataclasses.replace(
        record.subject,
        firmware="1.0",
        health=HealthRecord("smartctl", True, 10, 0, 0, 0, 0, 1, 30),
        hidden_areas=HiddenAreasRecord(visible=1000, native=1000, factory=None, exposed=False),
    )
    command = DeviceCommandRecord(
        "nvme", "crypto", "sanitize", drive.started_at, drive.finished_at, True, "SSTAT 0x101"
    )
    space = FreeSpaceSubject("/mnt/x", "ext4", 2049, "/dev/loop9", 4096, 8192, None)
    erased = dataclasses.replace(
        sample_certificate().subjects[0],
        key_erasure=KeyErasure("sealed-document", "slot 3", True, doc_id="D-1", key_id="K-1"),
    )
    return dataclasses.replace(
        drive,
        subjects=(
            dataclasses.replace(record, subject=facts, device_command=command),
            dataclasses.replace(record, subject=space),
            erased,
        ),
    )


def test_every_schema_is_a_valid_draft_2020_12_schema() -> None:
    for name in SCHEMA_NAMES:
        Draft202012Validator.check_schema(json.loads(schema_text(name)))


def test_each_schema_object_has_exactly_the_fields_of_its_record() -> None:
    defs = SCHEMA["$defs"]
    for name, (record, computed) in MIRRORS.items():
        fields = {f.name for f in dataclasses.fields(record)} | computed
        assert set(defs[name]["properties"]) == fields, name
        assert defs[name]["additionalProperties"] is False, name
    top = {f.name for f in dataclasses.fields(Certificate)} | {"schema", "version", "outcome"}
    assert set(SCHEMA["properties"]) == top
    assert set(SCHEMA["required"]) == top


def test_certificates_of_every_kind_validate() -> None:
    for certificate in (
        sample_certificate(),
        sample_certificate(mismatches=1),
        sample_drive_certificate(),
        _rich_certificate(),
    ):
        VALIDATOR.validate(_payload(certificate))


def test_a_removed_field_is_refused_by_the_schema_exactly_when_the_reader_refuses_it() -> None:
    payload = _payload(_rich_certificate())
    checked = 0
    for path, node in _objects(payload):
        for key in node:
            damaged = copy.deepcopy(payload)
            del _at(damaged, path)[key]
            assert VALIDATOR.is_valid(damaged) == _model_accepts(damaged), (*path, key)
            checked += 1
    assert checked > 150


def test_an_added_field_anywhere_is_refused() -> None:
    payload = _payload(_rich_certificate())
    for path, _ in _objects(payload):
        damaged = copy.deepcopy(payload)
        _at(damaged, path)["colour"] = "blue"
        assert not VALIDATOR.is_valid(damaged), path
        assert not _model_accepts(damaged), path


def test_wrong_types_and_formats_are_refused() -> None:
    payload = _payload(sample_certificate())
    for change in (
        {"certificate_id": "not-a-ulid"},
        {"issued_at": "2026-03-02 09:16:00"},
        {"outcome": "done"},
        {"version": 2},
        {"previous_certificate_sha256": "ABAB"},
        {"subjects": [{**payload["subjects"][0], "planned_passes": -1}]},
    ):
        assert not VALIDATOR.is_valid({**payload, **change}), change


def test_the_tamper_fixtures_the_reader_rejects_for_their_fields_fail_the_schema() -> None:
    for name in ("signed-field-added", "signed-field-removed", "signed-future-schema"):
        envelope = json.loads(fixtures()[f"{name}.cert.json"])
        payload = json.loads(base64.b64decode(envelope["payload"]))
        assert not VALIDATOR.is_valid(payload), name


def test_the_session_sweep_reports_a_certificate_the_schema_refuses(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    good = tmp_path / "a" / "x.cert.json"
    good.write_bytes(sign_certificate(sample_certificate(), STATION).to_json())
    (tmp_path / "forged.cert.json").write_bytes(fixtures()["signed-field-added.cert.json"])
    found = check_certificates(tmp_path, VALIDATOR)
    assert (found.validated, found.not_certificates, found.failures) == (1, 1, [])
    # The same sweep under a schema that allows no successes must report the file.
    narrowed = copy.deepcopy(SCHEMA)
    narrowed["properties"]["outcome"] = {"enum": ["failed"]}
    failing = check_certificates(tmp_path, Draft202012Validator(narrowed))
    assert len(failing.failures) == 1 and str(good) in failing.failures[0]


def _toml_blocks(marker: str) -> list[dict[str, Any]]:
    text = README.read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```toml\n")[1:]]
    return [tomllib.loads(b) for b in blocks if marker in b]


def test_policy_schema_matches_the_policy_reader_and_the_readme_examples() -> None:
    schema = json.loads(schema_text("policy"))
    validator = Draft202012Validator(schema)
    assert set(schema["properties"]) == _TOP_KEYS
    assert set(schema["$defs"]["rule"]["properties"]) == LEVEL_RULE_KEYS
    assert set(schema["$defs"]["path_rule"]["properties"]) == PATH_RULE_KEYS
    assert schema["$defs"]["path_rule"]["properties"]["verify"]["enum"] == list(VERIFY_MODES)
    levels = schema["properties"]["classification"]["propertyNames"]["enum"]
    assert levels == list(DEFAULT_POLICY.names)
    examples = _toml_blocks("classification") + _toml_blocks("[[paths]]")
    assert examples
    for example in examples:
        validator.validate(example)
    bad = 'bogus = 1\n[classification.secrte]\nmin_passes = 3\n[retention]\nsecret = "5x"\n'
    assert len(list(validator.iter_errors(tomllib.loads(bad)))) == 3
    with pytest.raises(UsageError):  # the reader refuses it too
        parse_policy(bad, "policy.toml")


def test_config_schema_matches_the_station_settings() -> None:
    schema = json.loads(schema_text("config"))
    station = schema["properties"]["station"]["properties"]
    assert set(station) == {f.name for f in dataclasses.fields(StationSettings)}
    validator = Draft202012Validator(schema)
    validator.validate({"station": {"operator": "Ada", "location": "Room 4"}})
    assert not validator.is_valid({"station": {"phone": 1}})
    assert not validator.is_valid({"stations": {}})
    validator.validate({"log": {"syslog": False}, "ledger": {"url": "postgresql://db/x"}})
    assert not validator.is_valid({"log": {"syslog": "no"}})
    assert not validator.is_valid({"log": {"socket": "/dev/log"}})
