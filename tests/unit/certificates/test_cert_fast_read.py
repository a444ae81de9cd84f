"""The fast reader of file certificates never accepts what the model's reader refuses,
and where it accepts, it finds the facts the model finds.

Every field of several certificates is replaced by values of every JSON type (and
near-valid ones: bad hex, impossible dates, unknown enum values), removed, or joined by an
unknown field; arrays lose, repeat and swap elements. Each variant is read both ways.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from expunge.certificates import (
    Certificate,
    ErrorRecord,
    Media,
    Person,
    SubjectRecord,
    fast_read,
    model,
    subjects,
)
from expunge.certificates.fast_read import _Refused, file_certificate_facts, read_parsed
from expunge.core.errors import IntegrityError
from expunge.workflows.audit.verdicts import Facts
from tests.support.tamper_fixtures import sample_certificate

DIGEST = "ef" * 32
_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    2**53,
    0.5,
    1.5,
    -0.5,
    "",
    "x",
    "ab",
    "AB",
    "abc",
    "\udcff",
    "2026-03-02T09:15:00Z",
    "2026-02-30T09:15:00Z",
    "2026-03-02 09:15:00Z",
    "0" * 64,
    "ab" * 31,
    "01JNK4ZQ8M7X3V5T9R2W6Y0P1C",
    "81JNK4ZQ8M7X3V5T9R2W6Y0P1C",
    "fixed",
    "random",
    "passed",
    "failed",
    "incomplete",
    "success",
    "partial",
    "interrupted",
    "Clear",
    "Purge",
    "Overwrite",
    "file",
    "drive",
    [],
    [1],
    {},
)


def _variants_of(base: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``base`` with one change somewhere: each value replaced, each key removed or an
    unknown one added, each array shortened, extended or reordered."""

    def walk(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
        yield path, node
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, (*path, index))

    def changed(path: tuple[Any, ...], change: Any) -> dict[str, Any]:
        variant = copy.deepcopy(base)
        node = variant
        for step in path[:-1]:
            node = node[step]
        change(node, path[-1])
        return variant

    for path, node in list(walk(base, ())):
        if path:
            for value in _VALUES:
                yield changed(path, lambda parent, key, v=value: parent.__setitem__(key, v))
            if isinstance(path[-1], str):
                yield changed(path, lambda parent, key: parent.pop(key))
        if isinstance(node, dict):
            variant = copy.deepcopy(base)
            target = variant
            for step in path:
                target = target[step]
            target["zzz"] = None
            yield variant
        if isinstance(node, list) and node:
            for change in (
                lambda items: items.pop(),
                lambda items: items.append(copy.deepcopy(items[0])),
                lambda items: items.reverse(),
            ):
                variant = copy.deepcopy(base)
                target = variant
                for step in path:
                    target = target[step]
                change(target)
                yield variant


def _bases() -> list[Certificate]:
    sample = sample_certificate()
    first = sample.subjects[0]
    return [
        sample,
        sample_certificate(mismatches=3),
        replace(sample, interrupted_by="SIGINT", ledger_anchor=None),
        replace(
            sample,
            errors=(ErrorRecord("io", "read error", None),),
            previous_certificate_sha256=None,
            person=Person("A", "B", "C", "D", phone="+49 228 0"),
            media=replace(Media("m", "n", "s", "SSD", "src", "SECRET"), asset_tag="T-1"),
        ),
        replace(sample, subjects=(replace(first, removed=False), replace(first, removed=None))),
        replace(sample, subjects=(replace(first, passes=first.passes[:2], verifications=()),)),
        replace(sample, subjects=(replace(first, verifications=()),)),
        replace(sample, subjects=()),
        replace(sample, subjects=(_random_twice(first),)),
    ]


def _random_twice(record: SubjectRecord) -> SubjectRecord:
    """Two random passes: only the second may keep its key."""
    final = record.passes[-1]
    return replace(
        record,
        planned_passes=2,
        passes=(replace(final, index=0, key_hex=None), replace(final, index=1)),
        verifications=tuple(replace(v, pass_index=1) for v in record.verifications),
    )


def _full(value: Any) -> Facts | None:
    try:
        return Facts.of(Certificate.from_dict(value), DIGEST)
    except IntegrityError:
        return None


def _fast(value: Any) -> Facts | None:
    try:
        return Facts.of_files(read_parsed(value), DIGEST)
    except _Refused:
        return None


@pytest.mark.parametrize("base", _bases(), ids=lambda c: c.outcome.value)
def test_the_fast_reader_accepts_only_what_the_model_accepts(base: Certificate) -> None:
    value = json.loads(base.canonical())
    assert _fast(value) == _full(value) is not None  # the fast path is taken at all
    checked = accepted = 0
    for variant in _variants_of(value):
        fast = _fast(variant)
        checked += 1
        if fast is not None:
            accepted += 1
            assert fast == _full(variant), variant
    assert checked > 1000
    assert accepted > 10


def test_a_payload_the_fast_path_cannot_read_is_left_to_the_model() -> None:
    payload = sample_certificate().canonical()
    assert file_certificate_facts(payload) is not None
    assert file_certificate_facts(payload.replace(b'"inode":1001', b'"inode":1001.0')) is None
    assert file_certificate_facts(payload + b" ") is None


def test_the_fast_reader_knows_every_field_of_the_model() -> None:
    # A field added to the model must be added to the fast reader (or it refuses all).
    assert fast_read._CERTIFICATE == model._CERTIFICATE_FIELDS
    assert frozenset(fast_read._PERSON) == model._PERSON_FIELDS
    assert frozenset(fast_read._MEDIA) == model._MEDIA_FIELDS
    assert fast_read._SANITIZATION == model._SANITIZATION_FIELDS
    assert fast_read._LIMITATION == model._LIMITATION_FIELDS
    assert fast_read._ERROR == model._ERROR_FIELDS
    assert fast_read._ANCHOR == model._ANCHOR_FIELDS
    assert fast_read._RECORD == subjects._RECORD_FIELDS
    assert subjects._FILE_FIELDS - {"path_bytes"} == fast_read._FILE
    assert fast_read._PASS == subjects._PASS_FIELDS
    assert fast_read._VERIFICATION == subjects._VERIFICATION_FIELDS
